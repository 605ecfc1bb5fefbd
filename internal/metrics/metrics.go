// Package metrics holds Tenantry's Prometheus metrics.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

var (
	// UrgentReconciles counts passes taken from the workqueue's urgent lane
	// (someone else changed a Tenant's objects) ahead of the others.
	UrgentReconciles = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tenantry_urgent_reconciles_total",
		Help: "Tenant reconciles taken ahead of the queue because someone else changed the Tenant's objects.",
	})
	// RepairWait and RepairTime split a drift repair in two: from the
	// operator's watch seeing someone else's change to its pass starting,
	// and to the correcting write done. Only changes the watch reported are
	// timed; drift a resync finds has no known start.
	RepairWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tenantry_repair_queue_wait_seconds",
		Help:    "Time from a Tenant marked urgent (someone else changed its objects, or a tenant-wide share it waits for became enforced) to the start of the pass that handles it.",
		Buckets: repairBuckets,
	})
	RepairTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tenantry_drift_repair_seconds",
		Help:    "Time from the operator seeing someone else's change to a Tenant's objects to each correction of the pass it brought forward written (one observation per corrected object).",
		Buckets: repairBuckets,
	})
	DriftFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenantry_drift_findings_total",
		Help: "Drift findings on objects Tenantry manages, by tenant, kind and action (Corrected, Recreated, Reported).",
	}, []string{"tenant", "kind", "action"})

	TenantReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_tenant_ready",
		Help: "1 when the Tenant's Ready condition is True, else 0.",
	}, []string{"tenant"})

	ManagedObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_managed_objects",
		Help: "Objects Tenantry manages for the tenant (namespaces included).",
	}, []string{"tenant"})

	tenantQuotaHard = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_tenant_scope_quota_hard",
		Help: "The tenant-wide limit of a scope: Tenant quota item, per resource.",
	}, []string{"tenant", "quota", "resource"})

	tenantQuotaUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_tenant_scope_quota_used",
		Help: "Usage of a scope: Tenant quota item summed over the tenant's namespaces, per resource.",
	}, []string{"tenant", "quota", "resource"})
)

// repairBuckets run from a few milliseconds (a pass on an idle operator)
// to the correction throttle's seconds.
var repairBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// quotaSeries are the (quota, resource) pairs each tenant's tenant-wide
// quota series are set for, so that the stale ones are deleted by their
// labels: DeletePartialMatch scans every series of a vector, a cost per
// pass that grew with the number of tenants.
var (
	quotaSeriesMu sync.Mutex
	quotaSeries   = map[string]map[quotaSeriesKey]struct{}{}
)

type quotaSeriesKey struct{ quota, resource string }

func init() {
	crmetrics.Registry.MustRegister(UrgentReconciles, RepairWait, RepairTime, DriftFindings, TenantReady, ManagedObjects, tenantQuotaHard, tenantQuotaUsed)
}

// RecordTenantQuotas sets the tenant-wide quota series from status.quotas,
// dropping those of items and resources the Tenant no longer has.
func RecordTenantQuotas(tenant string, quotas []tenantryv1alpha1.TenantQuotaStatus) {
	cur := map[quotaSeriesKey]struct{}{}
	for _, q := range quotas {
		for name, v := range q.Hard {
			cur[quotaSeriesKey{q.Name, string(name)}] = struct{}{}
			tenantQuotaHard.WithLabelValues(tenant, q.Name, string(name)).Set(v.AsApproximateFloat64())
			used := q.Used[name]
			tenantQuotaUsed.WithLabelValues(tenant, q.Name, string(name)).Set(used.AsApproximateFloat64())
		}
	}
	quotaSeriesMu.Lock()
	defer quotaSeriesMu.Unlock()
	for k := range quotaSeries[tenant] {
		if _, kept := cur[k]; !kept {
			tenantQuotaHard.DeleteLabelValues(tenant, k.quota, k.resource)
			tenantQuotaUsed.DeleteLabelValues(tenant, k.quota, k.resource)
		}
	}
	if len(cur) == 0 {
		delete(quotaSeries, tenant)
	} else {
		quotaSeries[tenant] = cur
	}
}

// ForgetTenant removes a deleted tenant's series.
func ForgetTenant(tenant string) {
	TenantReady.DeleteLabelValues(tenant)
	ManagedObjects.DeleteLabelValues(tenant)
	DriftFindings.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	RecordTenantQuotas(tenant, nil)
}
