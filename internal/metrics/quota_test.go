package metrics

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

func TestSumQuotas(t *testing.T) {
	q := func(tenant, ns string, hard, used string) corev1.ResourceQuota {
		rq := corev1.ResourceQuota{}
		rq.Namespace, rq.Name = ns, "tenantry-compute"
		if tenant != "" {
			rq.Labels = map[string]string{tenantryv1alpha1.TenantLabel: tenant}
		}
		rq.Status.Hard = corev1.ResourceList{"requests.cpu": resource.MustParse(hard)}
		rq.Status.Used = corev1.ResourceList{"requests.cpu": resource.MustParse(used)}
		return rq
	}
	got := sumQuotas([]corev1.ResourceQuota{q("a", "a-1", "4", "500m"), q("a", "a-2", "4", "1"), q("b", "b-1", "2", "0"), q("", "x", "9", "9")})
	want := map[quotaKey]quotaSum{
		{"a", "requests.cpu"}: {used: 1.5, hard: 8},
		{"b", "requests.cpu"}: {used: 0, hard: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if g := got[k]; g == nil || *g != w {
			t.Errorf("%v = %+v, want %+v", k, g, w)
		}
	}
}
