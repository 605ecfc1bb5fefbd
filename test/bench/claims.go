package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// per-tenant ClusterRole, the Tenant's status and the claim's, and with a
// tenant-wide quota the moves of the tenant's shares. The API server's own
// count of the writes over the phase, by verb and resource, says which.
func measureClaims(ctx context.Context, c *localcluster.Cluster, admin client.Client, op *localcluster.Operator, p params, n int, res *result) error {
	k := min(n, p.claims)
	if k == 0 {
		return nil
	}
	progress("claims: %d Tenants claim one namespace each, one at a time", k)
	before, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	loadBefore, err := apiServerLoad(ctx, c)
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
	loadAfter, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	res.claimWritesBy = loadAfter.since(loadBefore).writesPer(k)
	slices.Sort(latencies)
	res.claimSamples = len(latencies)
	res.claimP50, res.claimP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	res.claimWrites = float64(after-before) / float64(k)
	progress("claims: Ready p50 %.0f ms, p99 %.0f ms over %d claims; %.1f write requests per claim", res.claimP50, res.claimP99, k, res.claimWrites)
	progress("claims: API server writes per claim, by verb and resource (%s and %s are not the operator's): %s",
		benchClaimCreate, quotaControllerWrite, formatWrites(res.claimWritesBy))
	return nil
}

// The writes of a claims phase that are not the operator's: the bench's own
// claim creation, and the quota controller's recount of each quota.
const (
	benchClaimCreate     = "POST namespaceclaims"
	quotaControllerWrite = "PUT resourcequotas/status"
)

// writeVerbs are the verbs of the API server's request metrics that write (APPLY is
// a server-side apply; the API server counts it apart from PATCH).
var writeVerbs = []string{"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}

// writesPer is the write requests of l, per verb and resource, divided by
// k. Dry runs store nothing and are left out.
func (l apiLoad) writesPer(k int) map[string]float64 {
	out := map[string]float64{}
	for key, c := range l {
		verb, _, _ := strings.Cut(key, " ")
		if slices.Contains(writeVerbs, verb) && !strings.HasSuffix(key, dryRunSuffix) {
			out[key] = c.count / float64(k)
		}
	}
	return out
}

// formatWrites lists writes per claim, most first, with their total.
func formatWrites(by map[string]float64) string {
	keys := slices.Collect(maps.Keys(by))
	slices.SortFunc(keys, func(a, b string) int {
		if by[a] != by[b] {
			if by[a] > by[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	total, parts := 0.0, make([]string, 0, len(keys))
	for _, key := range keys {
		total += by[key]
		parts = append(parts, fmt.Sprintf("%s %.1f", key, by[key]))
	}
	return fmt.Sprintf("%.1f in all: %s", total, strings.Join(parts, ", "))
}
