package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// floorLabel marks the bench's own copies of managed children: no Tenant
// owns them, so the operator neither caches nor touches them.
const floorLabel = "bench.tenantry.io/drift-floor"

// driftFloor is the fastest repair this server allows under the same load:
// the bench watches its own copy of the child just restored, and when its
// deletion arrives it creates it again at once, with no read and no plan.
// Both halves are timed too, so the report shows where a repair's time goes
// on the server: from the delete request until the watch delivers the
// deletion, and from the create request until the watch delivers that (a
// watch event often arrives before the request's own response).
type driftFloor struct {
	events chan floorEvent
}

type floorEvent struct {
	typ watch.EventType
	key string
	at  time.Time
}

// floorSample is one timed repair by the bench, in milliseconds.
type floorSample struct {
	total, deleteSeen, createSeen float64
}

func startDriftFloor(ctx context.Context, watches []func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)) (*driftFloor, error) {
	f := &driftFloor{events: make(chan floorEvent, 1024)}
	for _, start := range watches {
		w, err := start(ctx, metav1.ListOptions{LabelSelector: floorLabel})
		if err != nil {
			return nil, err
		}
		go func() {
			for ev := range w.ResultChan() {
				if o, ok := ev.Object.(client.Object); ok {
					f.events <- floorEvent{typ: ev.Type, key: o.GetNamespace() + "/" + o.GetName(), at: time.Now()}
				}
			}
		}()
	}
	return f, nil
}

// await waits for the event of the given type on key, dropping others.
func (f *driftFloor) await(typ watch.EventType, key string) (time.Time, error) {
	timeout := time.After(driftTimeout)
	for {
		select {
		case ev := <-f.events:
			if ev.typ == typ && ev.key == key {
				return ev.at, nil
			}
		case <-timeout:
			return time.Time{}, fmt.Errorf("drift floor: no %s event for %s within %s", typ, key, driftTimeout)
		}
	}
}

// sample copies live (a managed child the operator just restored) under a
// name of the bench's own, then times its deletion and immediate re-creation
// until the watch sees it again; the copy is removed afterwards.
func (f *driftFloor) sample(ctx context.Context, admin client.Client, live client.Object) (floorSample, error) {
	obj := floorCopy(live)
	key := obj.GetNamespace() + "/" + obj.GetName()
	if err := admin.Create(ctx, floorCopy(obj)); err != nil {
		return floorSample{}, fmt.Errorf("drift floor: create %s: %w", key, err)
	}
	if _, err := f.await(watch.Added, key); err != nil {
		return floorSample{}, err
	}
	start := time.Now()
	if err := admin.Delete(ctx, floorCopy(obj)); err != nil {
		return floorSample{}, fmt.Errorf("drift floor: delete %s: %w", key, err)
	}
	seen, err := f.await(watch.Deleted, key)
	if err != nil {
		return floorSample{}, err
	}
	react := time.Now()
	if err := admin.Create(ctx, floorCopy(obj)); err != nil {
		return floorSample{}, fmt.Errorf("drift floor: re-create %s: %w", key, err)
	}
	back, err := f.await(watch.Added, key)
	if err != nil {
		return floorSample{}, err
	}
	s := floorSample{total: ms(back.Sub(start)), deleteSeen: ms(seen.Sub(start)), createSeen: ms(back.Sub(react))}
	if err := admin.Delete(ctx, floorCopy(obj)); err != nil {
		return floorSample{}, fmt.Errorf("drift floor: remove %s: %w", key, err)
	}
	_, err = f.await(watch.Deleted, key)
	return s, err
}

// floorCopy returns live's content under the bench's name and label, with
// nothing the server assigns.
func floorCopy(live client.Object) client.Object {
	o := live.DeepCopyObject().(client.Object)
	if o.GetLabels()[floorLabel] == "" {
		o.SetName("bench-floor-" + live.GetName())
	}
	o.SetLabels(map[string]string{floorLabel: "true"})
	o.SetAnnotations(nil)
	o.SetResourceVersion("")
	o.SetUID("")
	o.SetGeneration(0)
	o.SetCreationTimestamp(metav1.Time{})
	o.SetManagedFields(nil)
	o.SetOwnerReferences(nil)
	o.SetFinalizers(nil)
	return o
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// floorStats are the percentiles of a phase's floor samples.
type floorStats struct {
	p50, p99 float64
	// The p50 of each half: delete request → deletion delivered by the
	// watch, create request → creation delivered.
	segP50 [2]float64
	// The same halves of the slowest sample.
	slowest [2]float64
}

func summarizeFloor(samples []floorSample) floorStats {
	if len(samples) == 0 {
		return floorStats{}
	}
	slices.SortFunc(samples, func(a, b floorSample) int {
		switch {
		case a.total < b.total:
			return -1
		case a.total > b.total:
			return 1
		}
		return 0
	})
	totals := make([]float64, len(samples))
	segs := [2][]float64{}
	for i, s := range samples {
		totals[i] = s.total
		for j, v := range [2]float64{s.deleteSeen, s.createSeen} {
			segs[j] = append(segs[j], v)
		}
	}
	st := floorStats{p50: percentile(totals, 0.50), p99: percentile(totals, 0.99)}
	for j := range segs {
		slices.Sort(segs[j])
		st.segP50[j] = percentile(segs[j], 0.50)
	}
	last := samples[len(samples)-1]
	st.slowest = [2]float64{last.deleteSeen, last.createSeen}
	return st
}
