package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	driftFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenantry_drift_findings_total",
		Help: "Drift findings on objects Tenantry manages, by tenant, kind and action (Corrected, Recreated, Reported).",
	}, []string{"tenant", "kind", "action"})

	tenantReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_tenant_ready",
		Help: "1 when the Tenant's Ready condition is True, else 0.",
	}, []string{"tenant"})

	managedObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantry_managed_objects",
		Help: "Objects Tenantry manages for the tenant (namespaces included).",
	}, []string{"tenant"})
)

func init() {
	metrics.Registry.MustRegister(driftFindings, tenantReady, managedObjects)
}

// forgetTenantMetrics removes a deleted tenant's series.
func forgetTenantMetrics(tenant string) {
	tenantReady.DeleteLabelValues(tenant)
	managedObjects.DeleteLabelValues(tenant)
	driftFindings.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
}
