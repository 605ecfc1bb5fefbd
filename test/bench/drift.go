package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// driftTimeout is how long one restoration is waited for.
const driftTimeout = 30 * time.Second

// measureDrift deletes p.drift random children one at a time and times,
// with a watch, how long each takes to come back. With churn > 0 the last
// churn Tenants have their spec changed over and over meanwhile (a label of
// their first namespace), and the deleted children are of the others.
func measureDrift(ctx context.Context, c *localcluster.Cluster, admin client.Client, op *localcluster.Operator, p params, n, churn int, res *result) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	type kindWatch struct {
		name  string
		watch func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
		obj   func() client.Object
		list  client.ObjectList
	}
	kinds := []kindWatch{
		{"tenantry-compute", cs.CoreV1().ResourceQuotas("").Watch, func() client.Object { return &corev1.ResourceQuota{} }, &corev1.ResourceQuotaList{}},
		{"tenantry-defaults", cs.CoreV1().LimitRanges("").Watch, func() client.Object { return &corev1.LimitRange{} }, &corev1.LimitRangeList{}},
		{"tenantry-owner", cs.RbacV1().RoleBindings("").Watch, func() client.Object { return &rbacv1.RoleBinding{} }, &rbacv1.RoleBindingList{}},
		{"tenantry-isolation", cs.NetworkingV1().NetworkPolicies("").Watch, func() client.Object { return &networkingv1.NetworkPolicy{} }, &networkingv1.NetworkPolicyList{}},
	}
	added := make(chan string, 1024)
	// deleted holds when the bench's watch delivered each deletion, the
	// same delivery the operator waits for.
	var deleted sync.Map // key -> time.Time
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, k := range kinds {
		// From the current version, with no initial events: a watch from
		// "0" replays every existing object first, and at thousands of
		// Tenants the first samples' events waited behind that replay in
		// the stream (docs/benchmarks.md, sixth pass).
		if err := admin.List(wctx, k.list, client.HasLabels{tenantryv1alpha1.TenantLabel}, client.Limit(1)); err != nil {
			return err
		}
		w, err := k.watch(wctx, metav1.ListOptions{LabelSelector: tenantryv1alpha1.TenantLabel, ResourceVersion: k.list.GetResourceVersion()})
		if err != nil {
			return err
		}
		go func() {
			for ev := range w.ResultChan() {
				o, ok := ev.Object.(client.Object)
				switch {
				case ev.Type == watch.Error:
					progress("drift: %s watch error: %v", k.name, apierrors.FromObject(ev.Object))
				case !ok:
				case ev.Type == watch.Added:
					added <- o.GetNamespace() + "/" + o.GetName()
				case ev.Type == watch.Deleted:
					deleted.Store(o.GetNamespace()+"/"+o.GetName(), time.Now())
				}
			}
			if wctx.Err() == nil {
				// Not re-established: the samples of this kind that follow
				// time out, and the report counts them.
				progress("drift: the %s watch closed early", k.name)
			}
		}()
	}
	watches := make([]func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error), len(kinds))
	for i, k := range kinds {
		watches[i] = k.watch
	}
	floor, err := startDriftFloor(wctx, watches)
	if err != nil {
		return err
	}
	// At least half the Tenants stay quiet, so that the deletions spread
	// over many objects (a correction storm on one is throttled).
	churn = min(churn, n/2)
	stop := churnTenants(ctx, admin, n, churn)
	defer stop()
	progress("drift: deleting %d random children and timing their restoration (%d other Tenants changing)", p.drift, churn)
	var latencies []float64
	var samples []repairSample
	logFrom := logEnd(op.LogPath)
	var floorSamples []floorSample
	byKind := map[string][]float64{}
	timeouts := 0
	for range p.drift {
		k := kinds[rng.IntN(len(kinds))]
		ns := fmt.Sprintf("bench-%04d-%d", rng.IntN(n-churn), rng.IntN(p.namespaces))
		obj := k.obj()
		obj.SetNamespace(ns)
		obj.SetName(k.name)
		start := time.Now()
		if err := admin.Delete(ctx, obj); err != nil {
			return fmt.Errorf("delete %s/%s: %w", ns, k.name, err)
		}
		want := ns + "/" + k.name
		timeout := time.After(driftTimeout)
	wait:
		for {
			select {
			case key := <-added:
				if key == want {
					break wait
				}
			case <-timeout:
				// Counted at the timeout, so the percentiles say the worst
				// and the run goes on to write its report.
				progress("drift: %s was not restored within %s", want, driftTimeout)
				timeouts++
				break wait
			}
		}
		took := ms(time.Since(start))
		latencies = append(latencies, took)
		sample := repairSample{key: want, took: took, start: start}
		if at, ok := deleted.LoadAndDelete(want); ok {
			sample.benchSawDelete = ms(at.(time.Time).Sub(start))
		}
		samples = append(samples, sample)
		byKind[k.name] = append(byKind[k.name], took)
		time.Sleep(20 * time.Millisecond)
		// The bench's own repair of a copy of the same child, right after
		// the operator's, under the same load.
		if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			progress("drift: no floor sample for %s: %v", want, err)
			continue
		}
		s, err := floor.sample(ctx, admin, obj)
		if err != nil {
			return err
		}
		floorSamples = append(floorSamples, s)
		time.Sleep(20 * time.Millisecond)
	}
	fs := summarizeFloor(floorSamples)
	logged, err := readRepairs(op.LogPath, logFrom)
	if err != nil {
		return fmt.Errorf("operator log: %w", err)
	}
	slowest, untimed := attribute(samples, logged)
	var a attribution
	a.split = repairSplit(samples)
	a.slowest, a.untimed = slowest, untimed
	slices.Sort(latencies)
	p50, p99 := percentile(latencies, 0.50), percentile(latencies, 0.99)
	if churn == 0 {
		res.driftSamples, res.driftP50, res.driftP99, res.driftTimeouts = len(latencies), p50, p99, timeouts
		res.driftFloor, res.driftAttr = fs, a
	} else {
		res.churnP50, res.churnP99, res.churnTimeouts = p50, p99, timeouts
		res.churnFloor, res.churnAttr = fs, a
		res.churnChanges = stop()
	}
	progress("drift: p50 %.0f ms, p99 %.0f ms over %d deletions; the bench's own watch-and-create floor p50 %.0f ms, p99 %.0f ms (delete seen + create seen: p50 %.0f + %.0f, slowest %.0f + %.0f ms)",
		p50, p99, len(latencies), fs.p50, fs.p99, fs.segP50[0], fs.segP50[1], fs.slowest[0], fs.slowest[1])
	progress("drift: by the operator's log, p50 deletion seen %.0f + queue %.0f + plan %.0f + write %.0f + re-creation seen %.0f ms; %d of %d repaired by a pass nobody marked urgent; slowest:",
		a.split[0], a.split[1], a.split[2], a.split[3], a.split[4], untimed, len(samples))
	for _, l := range slowest {
		progress("drift:   %s", l)
	}
	for _, name := range slices.Sorted(maps.Keys(byKind)) {
		l := byKind[name]
		slices.Sort(l)
		progress("drift: %s: p50 %.0f ms, max %.0f ms over %d", name, percentile(l, 0.50), l[len(l)-1], len(l))
	}
	return nil
}

// churnTenants changes the spec of the last k of n Tenants in a loop, one
// after the other, until stop, which returns how many changes it made.
func churnTenants(ctx context.Context, admin client.Client, n, k int) (stop func() int) {
	if k <= 0 {
		return func() int { return 0 }
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	count := 0
	go func() {
		defer close(done)
		for round := 0; cctx.Err() == nil; round++ {
			for i := n - k; i < n && cctx.Err() == nil; i++ {
				t := &tenantryv1alpha1.Tenant{}
				if admin.Get(cctx, client.ObjectKey{Name: fmt.Sprintf("bench-%04d", i)}, t) != nil {
					continue
				}
				t.Spec.Namespaces[0].Labels = map[string]tenantryv1alpha1.LabelValue{"bench-churn": tenantryv1alpha1.LabelValue(fmt.Sprint(round))}
				if admin.Update(cctx, t) == nil {
					count++
				}
			}
		}
	}()
	return func() int { cancel(); <-done; return count }
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
