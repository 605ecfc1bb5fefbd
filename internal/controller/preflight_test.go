package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestRefusedSpecAppliesNothing: a spec the CRD admits but whose passed-through
// content the API server refuses (a fractional pod count, a scope the
// resources do not support) stalls with the server's own message, and
// nothing of it is applied: not the namespaces of a new Tenant, not the new
// quota of an existing one. Fixing the spec makes it Ready.
func TestRefusedSpecAppliesNothing(t *testing.T) {
	badQuota := []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
		Hard: corev1.ResourceList{"pods": resource.MustParse("500m")}}}

	// A new Tenant: refused before any namespace exists.
	tn := newTenant("refused", "refused-a", "refused-b")
	tn.Spec.ResourceQuotas = badQuota
	createTenant(t, tn)
	got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonInvalidSpec)
	msg := condition(got, tenantryv1alpha1.ConditionStalled).Message
	for _, want := range []string{"ResourceQuota tenantry-compute", "spec.hard[pods]", "must be an integer", "nothing of this spec was applied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Stalled message %q does not contain %q", msg, want)
		}
	}
	if c := condition(got, tenantryv1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != tenantryv1alpha1.ReasonInvalidSpec {
		t.Errorf("Ready = %s/%s, want False/InvalidSpec", c.Status, c.Reason)
	}
	for _, ns := range []string{"refused-a", "refused-b"} {
		eventuallyAbsent(t, &corev1.Namespace{}, "", ns)
	}

	// Fixed: applied in full.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.ResourceQuotas[0].Hard = corev1.ResourceList{"pods": resource.MustParse("5")}
	})
	waitReady(t, tn.Name)
	q := get(t, &corev1.ResourceQuota{}, "refused-a", "tenantry-compute")
	if q.Spec.Hard.Pods().Value() != 5 {
		t.Fatalf("quota pods = %s, want 5", q.Spec.Hard.Pods())
	}

	// An existing Tenant given a refused spec: the objects in place stay as they were.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.ResourceQuotas = append(tn.Spec.ResourceQuotas, tenantryv1alpha1.TenantResourceQuota{Name: "besteffort",
			Hard: corev1.ResourceList{"requests.storage": resource.MustParse("1Gi")}, Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}})
		tn.Spec.ResourceQuotas[0].Hard = corev1.ResourceList{"pods": resource.MustParse("7")}
	})
	got = waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonInvalidSpec)
	if msg := condition(got, tenantryv1alpha1.ConditionStalled).Message; !strings.Contains(msg, "ResourceQuota tenantry-besteffort") || !strings.Contains(msg, "unsupported scope") {
		t.Errorf("Stalled message %q does not name the refused quota and why", msg)
	}
	if got.Status.NamespaceCount != 2 || len(got.Status.Namespaces) != 2 {
		t.Errorf("status lost the namespaces in place: count %d, %v", got.Status.NamespaceCount, got.Status.Namespaces)
	}
	q = get(t, &corev1.ResourceQuota{}, "refused-a", "tenantry-compute")
	if q.Spec.Hard.Pods().Value() != 5 {
		t.Errorf("quota pods = %s: part of the refused spec was applied", q.Spec.Hard.Pods())
	}
	eventuallyAbsent(t, &corev1.ResourceQuota{}, "refused-a", "tenantry-besteffort")
	deleteTenant(t, tn.Name)
}
