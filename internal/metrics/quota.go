package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

var (
	quotaUsedDesc = prometheus.NewDesc("tenantry_tenant_quota_used",
		"Quota usage summed over the tenant's ResourceQuotas (all its namespaces), from their status.used.",
		[]string{"tenant", "resource"}, nil)
	quotaHardDesc = prometheus.NewDesc("tenantry_tenant_quota_hard",
		"Quota limits summed over the tenant's ResourceQuotas (all its namespaces), from their status.hard.",
		[]string{"tenant", "resource"}, nil)
)

// QuotaCollector exports per-tenant quota usage and limits at scrape time,
// from the label-filtered cache: no API call, and no reconcile is triggered
// just because a pod was created.
type QuotaCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *QuotaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- quotaUsedDesc
	ch <- quotaHardDesc
}

// Collect implements prometheus.Collector.
func (c *QuotaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var quotas corev1.ResourceQuotaList
	if err := c.Reader.List(ctx, &quotas); err != nil {
		logf.Log.Error(err, "Listing ResourceQuotas for quota metrics")
		return
	}
	for key, s := range sumQuotas(quotas.Items) {
		ch <- prometheus.MustNewConstMetric(quotaUsedDesc, prometheus.GaugeValue, s.used, key.tenant, key.resource)
		ch <- prometheus.MustNewConstMetric(quotaHardDesc, prometheus.GaugeValue, s.hard, key.tenant, key.resource)
	}
}

type quotaKey struct{ tenant, resource string }

type quotaSum struct{ used, hard float64 }

// sumQuotas adds up status.used and status.hard per tenant and resource over
// the ResourceQuotas Tenantry manages.
func sumQuotas(quotas []corev1.ResourceQuota) map[quotaKey]*quotaSum {
	out := map[quotaKey]*quotaSum{}
	for _, q := range quotas {
		tenant := q.Labels[tenantryv1alpha1.TenantLabel]
		if tenant == "" {
			continue
		}
		for name, hard := range q.Status.Hard {
			k := quotaKey{tenant, string(name)}
			if out[k] == nil {
				out[k] = &quotaSum{}
			}
			out[k].hard += hard.AsApproximateFloat64()
			if used, ok := q.Status.Used[name]; ok {
				out[k].used += used.AsApproximateFloat64()
			}
		}
	}
	return out
}
