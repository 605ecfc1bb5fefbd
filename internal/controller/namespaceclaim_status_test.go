package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestClaimsOfAHaltedTenant: while its Tenant is halted (here on a missing
// TenantClass) a claim is Stalled with the Tenant's reason and message, at
// its generation, so kstatus and Argo CD see it Failed/Degraded rather than
// InProgress indefinitely; a claim that had its namespace keeps it, and
// both come back once the Tenant does.
func TestClaimsOfAHaltedTenant(t *testing.T) {
	tn := selfServiceTenant("ssk", 3)
	owner := readyOwner(t, tn)
	ctx := context.Background()
	must(owner.Create(ctx, newClaim("ssk-dev", "ssk-before")))
	waitClaim(t, "ssk-dev", "ssk-before", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)

	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.Class = "ssk-missing" })
	stalled := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClassNotFound)
	must(owner.Create(ctx, newClaim("ssk-dev", "ssk-during")))
	const message = "Tenant ssk: TenantClass ssk-missing does not exist; nothing of this spec was applied or changed until it does"
	if c := meta.FindStatusCondition(stalled.Status.Conditions, tenantryv1alpha1.ConditionStalled); "Tenant ssk: "+c.Message != message {
		t.Fatalf("the claim's message is the Tenant's: %q", c.Message)
	}
	for _, tt := range []struct{ name, namespace string }{{"ssk-before", "ssk-before"}, {"ssk-during", ""}} {
		c := waitClaim(t, "ssk-dev", tt.name, metav1.ConditionFalse, tenantryv1alpha1.ReasonClassNotFound)
		ready := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReady)
		s := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled)
		if ready.Message != message || s == nil || s.Status != metav1.ConditionTrue || s.Reason != tenantryv1alpha1.ReasonClassNotFound ||
			s.Message != message || meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReconciling) != nil ||
			c.Status.Namespace != tt.namespace {
			t.Fatalf("claim %s of a halted Tenant: %+v", tt.name, c.Status)
		}
	}
	eventuallyAbsent(t, &corev1.Namespace{}, "", "ssk-during")

	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.Class = "" })
	waitReady(t, tn.Name)
	for _, name := range []string{"ssk-before", "ssk-during"} {
		if c := waitClaim(t, "ssk-dev", name, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled); c.Status.Namespace != name ||
			meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled) != nil {
			t.Fatalf("claim %s once the Tenant is back: %+v", name, c.Status)
		}
	}
}
