// Package metrics holds Tenantry's Prometheus metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
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
)

func init() {
	crmetrics.Registry.MustRegister(DriftFindings, TenantReady, ManagedObjects)
}

// ForgetTenant removes a deleted tenant's series.
func ForgetTenant(tenant string) {
	TenantReady.DeleteLabelValues(tenant)
	ManagedObjects.DeleteLabelValues(tenant)
	DriftFindings.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
}
