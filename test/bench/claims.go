package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// measureClaims has p.claims Tenants (of the n, all converged) each claim
// one namespace, one claim at a time, and times each from its creation
// until it is Ready (namespace Active, every child in place), as a client
// polling it would see. The operator's write requests over all of them,
// per claim, are what one claim costs: the namespace and its children, the
// per-tenant ClusterRole, the Tenant's status and the claim's.
func measureClaims(ctx context.Context, admin client.Client, op *localcluster.Operator, p params, n int, res *result) error {
	k := min(n, p.claims)
	if k == 0 {
		return nil
	}
	progress("claims: %d Tenants claim one namespace each, one at a time", k)
	before, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	var latencies []float64
	for i := range k {
		tenant := fmt.Sprintf("bench-%04d", i)
		c := &tenantryv1alpha1.NamespaceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: tenant + "-0", Name: tenant + "-claimed"}}
		start := time.Now()
		if err := admin.Create(ctx, c); err != nil {
			return fmt.Errorf("create claim %s/%s: %w", c.Namespace, c.Name, err)
		}
		for {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				return err
			}
			if meta.IsStatusConditionTrue(c.Status.Conditions, tenantryv1alpha1.ConditionReady) {
				break
			}
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("claim %s/%s not Ready within 30 s: %+v", c.Namespace, c.Name, c.Status)
			}
			time.Sleep(5 * time.Millisecond)
		}
		latencies = append(latencies, float64(time.Since(start).Microseconds())/1000)
	}
	// The last claim's Tenant status may still be in flight: let it land.
	time.Sleep(2 * time.Second)
	after, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	slices.Sort(latencies)
	res.claimSamples = len(latencies)
	res.claimP50, res.claimP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	res.claimWrites = float64(after-before) / float64(k)
	progress("claims: Ready p50 %.0f ms, p99 %.0f ms over %d claims; %.1f write requests per claim", res.claimP50, res.claimP99, k, res.claimWrites)
	return nil
}
