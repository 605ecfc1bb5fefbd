package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

func TestVerifiedMarks(t *testing.T) {
	tenant := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "v", UID: "uid-1", Generation: 3}}
	scopeOf := func(gen int64, active ...string) *scope {
		tn := tenant.DeepCopy()
		tn.Generation = gen
		return &scope{tenant: tn, active: active}
	}
	quota := render.Object{Kind: render.KindResourceQuota, Namespace: "v-prod", Name: "tenantry-compute"}
	role := render.Object{Kind: render.KindClusterRole, Name: "tenantry:tenant:v"}
	at := func(rv string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
	}
	var v verifiedObjects
	if v.inSync(scopeOf(3), quota, at("10")) {
		t.Fatal("nothing marked yet")
	}
	v.mark(scopeOf(3), quota, "10")
	v.mark(scopeOf(3, "v-prod"), role, "11")
	for _, c := range []struct {
		name string
		s    *scope
		d    render.Object
		rv   string
		want bool
	}{
		{"same version, same inputs", scopeOf(3), quota, "10", true},
		{"a newer version", scopeOf(3), quota, "12", false},
		{"a new generation", scopeOf(4), quota, "10", false},
		{"another object", scopeOf(3), render.Object{Kind: render.KindResourceQuota, Namespace: "v-dev", Name: "tenantry-compute"}, "10", false},
		{"ClusterRole, same namespaces", scopeOf(3, "v-prod"), role, "11", true},
		{"ClusterRole, other namespaces", scopeOf(3, "v-prod", "v-dev"), role, "11", false},
	} {
		if got := v.inSync(c.s, c.d, at(c.rv)); got != c.want {
			t.Errorf("%s: inSync = %v, want %v", c.name, got, c.want)
		}
	}
	v.mark(scopeOf(3), quota, "") // an apply whose response carried no version marks nothing
	if !v.inSync(scopeOf(3), quota, at("10")) {
		t.Fatal("an empty version replaced a mark")
	}
	v.forget("v")
	if v.inSync(scopeOf(3), quota, at("10")) {
		t.Fatal("forget kept the marks")
	}
}
