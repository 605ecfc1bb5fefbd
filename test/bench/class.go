package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/localcluster"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// Every bench Tenant is a member of benchClassName, which gives it its
// "services" quota. The class rollout changes that quota's value once.
const benchClassName = "bench-tier"

// Node ports the class allows before and after the rollout.
const nodePortsBefore, nodePortsAfter = "0", "1"

func benchClass(nodePorts string) *tenantryv1alpha1.TenantClass {
	return &tenantryv1alpha1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: benchClassName},
		Spec: tenantryv1alpha1.TenantClassSpec{Defaults: tenantryv1alpha1.TenantDefaults{
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				{Name: "services", Hard: corev1.ResourceList{"services.nodeports": resource.MustParse(nodePorts)}},
			},
		}},
	}
}

// desired are the objects the operator's planner makes for a new Tenant of
// the class at nodePorts.
func desiredWith(t *tenantryv1alpha1.Tenant, nodePorts string) []render.Object {
	return plan.Initial(effective.WithClass(t, benchClass(nodePorts), effective.Options{DefaultOwnerClusterRole: "admin"}))
}

func desired(t *tenantryv1alpha1.Tenant) []render.Object { return desiredWith(t, nodePortsBefore) }

// changedByRollout are the objects of t whose content the class rollout
// changes: what a perfect rollout writes, nothing else.
func changedByRollout(t *tenantryv1alpha1.Tenant) ([]render.Object, error) {
	before := map[string]string{}
	for _, d := range desiredWith(t, nodePortsBefore) {
		data, err := json.Marshal(d.Apply)
		if err != nil {
			return nil, err
		}
		before[d.Key()] = string(data)
	}
	var out []render.Object
	for _, d := range desiredWith(t, nodePortsAfter) {
		data, err := json.Marshal(d.Apply)
		if err != nil {
			return nil, err
		}
		if before[d.Key()] != string(data) {
			out = append(out, d)
		}
	}
	return out, nil
}

// floorRollout applies, raw, exactly the objects the rollout changes, each
// Tenant's in order, with the operator's concurrency.
func floorRollout(ctx context.Context, op client.Client, p params, n int, res *result) error {
	progress("floor: applying the objects a class change changes, for %d Tenants", n)
	var objects atomic.Int64
	start := time.Now()
	err := forEach(ctx, n, p.concurrency, func(i int) error {
		t := benchTenant(i, p.namespaces)
		if err := op.Get(ctx, client.ObjectKeyFromObject(t), t); err != nil { // its UID, for the owner references
			return err
		}
		changed, err := changedByRollout(t)
		if err != nil {
			return err
		}
		for _, d := range changed {
			if err := op.Apply(ctx, d.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
				return fmt.Errorf("apply %s: %w", d.Key(), err)
			}
		}
		objects.Add(int64(len(changed)))
		return nil
	}, func(int) {})
	res.classFloorS = time.Since(start).Seconds()
	res.classChanged = int(objects.Load())
	progress("floor: class change applied (%d objects) in %.1f s", res.classChanged, res.classFloorS)
	return err
}

// operatorRollout changes the class once and times until every Tenant has
// applied its new generation and is Ready, counting what the API server
// served meanwhile.
func operatorRollout(ctx context.Context, c *localcluster.Cluster, admin client.Client, op *localcluster.Operator, n int, res *result) error {
	// The convergence's last passes (requeued by their own writes) first.
	for range 2 {
		if err := waitReconciles(ctx, op, 0); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
	}
	writesBefore, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	loadBefore, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	class := &tenantryv1alpha1.TenantClass{}
	if err := admin.Get(ctx, client.ObjectKey{Name: benchClassName}, class); err != nil {
		return err
	}
	class.Spec = benchClass(nodePortsAfter).Spec
	start := time.Now()
	if err := admin.Update(ctx, class); err != nil {
		return err
	}
	if err := waitClassApplied(ctx, c, n, class.Generation); err != nil {
		return err
	}
	res.classS = time.Since(start).Seconds()
	// Let the last status writes land before counting.
	time.Sleep(2 * time.Second)
	writesAfter, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	loadAfter, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	load := loadAfter.since(loadBefore)
	res.classDryRuns = load.dryRuns()
	res.classWrites = writesAfter - writesBefore - res.classDryRuns
	res.classObjectWrites = int(load["APPLY resourcequotas"].count)
	progress("operator: class rollout to %d Tenants in %.1f s: %d writes, %d of them quota applies (%d objects changed), and %d dry runs",
		n, res.classS, res.classWrites, res.classObjectWrites, res.classChanged, res.classDryRuns)
	progress("operator: class rollout: API server served %s", load.summary(n))
	return nil
}

// waitClassApplied watches the Tenants until every one is Ready with the
// class generation recorded.
func waitClassApplied(ctx context.Context, c *localcluster.Cluster, n int, generation int64) error {
	cl, err := client.NewWithWatch(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	applied := map[string]bool{}
	for {
		w, err := cl.Watch(ctx, &tenantryv1alpha1.TenantList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}})
		if err != nil {
			return err
		}
		for ev := range w.ResultChan() {
			t, ok := ev.Object.(*tenantryv1alpha1.Tenant)
			if !ok {
				continue
			}
			applied[t.Name] = ev.Type != watch.Deleted && isReadyAtGeneration(t) && t.Status.ClassGeneration == generation
			done := 0
			for _, a := range applied {
				if a {
					done++
				}
			}
			if done == n {
				w.Stop()
				return nil
			}
		}
		w.Stop()
		select {
		case <-ctx.Done():
			return errors.New("the class change did not reach every Tenant within 10 minutes")
		case <-time.After(time.Second):
		}
	}
}
