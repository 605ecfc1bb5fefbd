package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/localcluster"
)

// podsPerTenant is how many pods fill a bench Tenant's tenant-wide compute
// quota: 4 CPUs of requests, 500m per pod (the LimitRange's default).
const podsPerTenant = 8

// measureRebalance has p.rebalance Tenants (of the n, all converged) fill
// their tenant-wide quota with pods, all in their first namespace, as their
// owners. Each refusal while the tenant still has room starts a sample: the
// time until a retry is admitted, as headroom moves to the namespace. The
// operator's write requests over all of them, per 100 admitted pods, are
// what moving headroom costs.
func measureRebalance(ctx context.Context, c *localcluster.Cluster, admin client.Client, op *localcluster.Operator, p params, n int, res *result) error {
	k := min(n, p.rebalance)
	if k == 0 {
		return nil
	}
	progress("rebalance: %d Tenants fill their tenant-wide quota in one namespace, %d pods each", k, podsPerTenant)
	before, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	var latencies []float64
	admitted := 0
	for i := range k {
		tenant := fmt.Sprintf("bench-%04d", i)
		owner, err := ownerClient(c, tenant)
		if err != nil {
			return err
		}
		var refusedAt time.Time
		for pod := 0; pod < podsPerTenant; {
			err := owner.Create(ctx, benchPod(tenant+"-0", fmt.Sprintf("fill-%d", pod)))
			switch {
			case err == nil:
				if !refusedAt.IsZero() {
					latencies = append(latencies, float64(time.Since(refusedAt).Microseconds())/1000)
					refusedAt = time.Time{}
				}
				pod++
				admitted++
			case strings.Contains(err.Error(), "exceeded quota: tenantry-compute"):
				if refusedAt.IsZero() {
					refusedAt = time.Now()
				}
				if time.Since(refusedAt) > 30*time.Second {
					return fmt.Errorf("%s: pod %d refused for 30 s while the tenant has room: %w", tenant, pod, err)
				}
				time.Sleep(5 * time.Millisecond)
			default:
				return fmt.Errorf("%s: create pod %d: %w", tenant, pod, err)
			}
		}
	}
	// The last Tenants' shares and status may still be in flight: let them land.
	time.Sleep(6 * time.Second)
	after, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	slices.Sort(latencies)
	res.rebalanceSamples = len(latencies)
	res.rebalanceP50, res.rebalanceP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	res.rebalanceWrites = float64(after-before) * 100 / float64(admitted)
	progress("rebalance: refused→admitted p50 %.0f ms, p99 %.0f ms over %d refusals; %.0f write requests per 100 admitted pods",
		res.rebalanceP50, res.rebalanceP99, len(latencies), res.rebalanceWrites)
	for i := range k {
		tenant := fmt.Sprintf("bench-%04d", i)
		if err := admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(tenant+"-0"), client.GracePeriodSeconds(0)); err != nil {
			return err
		}
	}
	return nil
}

// ownerClient acts as the bench Tenant's owners group.
func ownerClient(c *localcluster.Cluster, tenant string) (client.Client, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.Impersonate = rest.ImpersonationConfig{UserName: tenant + "-owner", Groups: []string{tenant + "-admins", "system:authenticated"}}
	return client.New(cfg, client.Options{Scheme: scheme})
}
