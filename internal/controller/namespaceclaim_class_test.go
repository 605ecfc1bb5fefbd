package controller

import (
	"context"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// TestClaimedNamespaceHasClassDefaultsAndGuardrails: a claimed namespace
// is planned like a spec one, so it carries its Tenant's class defaults
// (Pod Security, quotas, limit range) and the guardrail annotations the
// admission policies read there: without them, workloads in a claimed
// namespace would escape the Tenant's guardrails.
func TestClaimedNamespaceHasClassDefaultsAndGuardrails(t *testing.T) {
	createClass(t, goldClass("ssl-gold"))
	tn := selfServiceTenant("ssl", 3)
	tn.Spec.Class = "ssl-gold"
	tn.Spec.Workloads = guardrails("ssl")
	tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Egress: tenantryv1alpha1.NetworkEgressTenant,
		AllowEgressTo: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": "egress-proxy"}}}}}
	must(readyOwner(t, tn).Create(context.Background(), newClaim("ssl-dev", "ssl-feature")))
	waitClaim(t, "ssl-dev", "ssl-feature", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)

	want := map[string]string{
		"tenantry.io/registries":        "ghcr.io/ssl/",
		"tenantry.io/image-pull-policy": "Always",
		"tenantry.io/storage-classes":   "standard",
		"tenantry.io/priority-classes":  "tenant-normal",
		"tenantry.io/runtime-classes":   "gvisor",
		"tenantry.io/ingress-classes":   "nginx",
		"tenantry.io/hostnames":         "ssl.example.com,*.ssl.example.com",
		"tenantry.io/service-types":     "ClusterIP",
		"tenantry.io/node-selector":     "pool=ssl",
		"tenantry.io/tolerations":       "pool=ssl:NoSchedule",
		"tenantry.io/isolation":         "Tenant",
		"tenantry.io/egress":            "Tenant",
		"tenantry.io/allow-egress-to":   "ns:kubernetes.io/metadata.name=egress-proxy pod:",
	}
	for _, name := range []string{"ssl-dev", "ssl-feature"} {
		ns := get(t, &corev1.Namespace{}, "", name)
		got := map[string]string{}
		for _, key := range render.GuardrailAnnotationKeys {
			if v, ok := ns.Annotations[key]; ok {
				got[key] = v
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s guardrail annotations:\n got %v\nwant %v", name, got, want)
		}
		// The class's defaults: baseline Pod Security, its quotas, its limit range.
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
			t.Fatalf("%s Pod Security = %v", name, ns.Labels)
		}
		compute := get(t, &corev1.ResourceQuota{}, name, "tenantry-compute")
		storage := get(t, &corev1.ResourceQuota{}, name, "tenantry-storage")
		if q := compute.Spec.Hard["pods"]; q.Cmp(resource.MustParse("10")) != 0 {
			t.Fatalf("%s compute quota = %v", name, compute.Spec.Hard)
		}
		if q := storage.Spec.Hard["persistentvolumeclaims"]; q.Cmp(resource.MustParse("5")) != 0 {
			t.Fatalf("%s storage quota = %v", name, storage.Spec.Hard)
		}
		lr := get(t, &corev1.LimitRange{}, name, "tenantry-defaults")
		if len(lr.Spec.Limits) != 1 || lr.Spec.Limits[0].Max.Cpu().Cmp(resource.MustParse("2")) != 0 {
			t.Fatalf("%s limit range = %+v", name, lr.Spec.Limits)
		}
	}
}
