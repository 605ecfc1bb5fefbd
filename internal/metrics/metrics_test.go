package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

func quotaStatus(name string, resources ...corev1.ResourceName) tenantryv1alpha1.TenantQuotaStatus {
	q := tenantryv1alpha1.TenantQuotaStatus{Name: name, Hard: corev1.ResourceList{}, Used: corev1.ResourceList{}}
	for _, r := range resources {
		q.Hard[r] = resource.MustParse("4")
		q.Used[r] = resource.MustParse("1")
	}
	return q
}

func TestTenantQuotaSeriesFollowTheStatus(t *testing.T) {
	count := func() (hard, used int) {
		return testutil.CollectAndCount(tenantQuotaHard), testutil.CollectAndCount(tenantQuotaUsed)
	}
	RecordTenantQuotas("a", []tenantryv1alpha1.TenantQuotaStatus{quotaStatus("compute", "pods", "requests.cpu")})
	RecordTenantQuotas("b", []tenantryv1alpha1.TenantQuotaStatus{quotaStatus("compute", "pods"), quotaStatus("storage", "requests.storage")})
	if h, u := count(); h != 4 || u != 4 {
		t.Fatalf("series after two tenants: %d hard, %d used; want 4 and 4", h, u)
	}
	// A resource and then a whole item leave: only their series go.
	RecordTenantQuotas("a", []tenantryv1alpha1.TenantQuotaStatus{quotaStatus("compute", "pods")})
	RecordTenantQuotas("b", []tenantryv1alpha1.TenantQuotaStatus{quotaStatus("compute", "pods")})
	if h, u := count(); h != 2 || u != 2 {
		t.Fatalf("series after removals: %d hard, %d used; want 2 and 2", h, u)
	}
	if v := testutil.ToFloat64(tenantQuotaUsed.WithLabelValues("b", "compute", "pods")); v != 1 {
		t.Fatalf("b's pods usage = %v, want 1", v)
	}
	ForgetTenant("a")
	RecordTenantQuotas("b", nil)
	if h, u := count(); h != 0 || u != 0 {
		t.Fatalf("series after the tenants are gone: %d hard, %d used; want none", h, u)
	}
}
