package adoption

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestAdoptionRecordLeavesOutTenantrysMarks: a record never carries the
// marks that would make a released namespace look managed.
func TestAdoptionRecordLeavesOutTenantrysMarks(t *testing.T) {
	rec := Record{
		Labels: map[string]string{tenantryv1alpha1.TenantLabel: "old", tenantryv1alpha1.ManagedByLabel: "tenantry",
			"pod-security.kubernetes.io/enforce": "privileged"},
		Annotations: map[string]string{tenantryv1alpha1.TenantUIDAnnotation: "u", tenantryv1alpha1.AdoptedAnnotation: "{}",
			corev1.LastAppliedConfigAnnotation: "{}", "note": "kept"},
	}
	DropMarks(&rec)
	if len(rec.Labels) != 1 || rec.Labels["pod-security.kubernetes.io/enforce"] != "privileged" || len(rec.Annotations) != 1 || rec.Annotations["note"] != "kept" {
		t.Fatalf("record = %+v", rec)
	}
	other := Record{Labels: map[string]string{tenantryv1alpha1.ManagedByLabel: "helm"}}
	if DropMarks(&other); other.Labels[tenantryv1alpha1.ManagedByLabel] != "helm" {
		t.Fatal("another manager's managed-by label is the namespace's own")
	}
}
