package status

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Reasons of a TenantClass's conditions.
const (
	ReasonRolledOut       = "RolledOut"
	ReasonRollingOut      = "RollingOut"
	ReasonTenantsNotReady = "TenantsNotReady"
)

// ClassMembers counts a class's member Tenants.
type ClassMembers struct {
	// Tenants name the class; Updated have applied its current generation;
	// Ready are Ready at their own generation.
	Tenants, Updated, Ready int32
}

// CountMember adds one member Tenant to the counts, for a class at generation.
func (m *ClassMembers) CountMember(t *tenantryv1alpha1.Tenant, generation int64) {
	m.Tenants++
	if t.Status.ObservedGeneration == t.Generation && t.Status.ClassGeneration == generation {
		m.Updated++
	}
	if c := meta.FindStatusCondition(t.Status.Conditions, tenantryv1alpha1.ConditionReady); c != nil &&
		c.Status == metav1.ConditionTrue && c.ObservedGeneration == t.Generation {
		m.Ready++
	}
}

// Class is a TenantClass's status: the rollout of its generation to its
// members, as a Deployment shows its replicas. kstatus reads it: Reconciling
// while some member has not applied the current generation, so Flux and
// Argo CD can wait on a class.
func Class(prev tenantryv1alpha1.TenantClassStatus, generation int64, m ClassMembers, deleting bool, now metav1.Time) tenantryv1alpha1.TenantClassStatus {
	st := *prev.DeepCopy()
	st.ObservedGeneration = generation
	st.Tenants, st.UpdatedTenants, st.ReadyTenants = m.Tenants, m.Updated, m.Ready
	set := func(typ string, status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
			Message: message, ObservedGeneration: generation, LastTransitionTime: now})
	}
	switch {
	case deleting:
		set(tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenantryv1alpha1.ReasonDeleting,
			fmt.Sprintf("Deletion waits until no Tenant names this class (%s)", Plural(int(m.Tenants), "Tenant")))
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonDeleting, "The class is being deleted")
	case m.Updated < m.Tenants:
		msg := fmt.Sprintf("%d of %s applied generation %d", m.Updated, Plural(int(m.Tenants), "Tenant"), generation)
		set(tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, ReasonRollingOut, msg)
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonRollingOut, msg)
	default:
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionReconciling)
		if m.Ready < m.Tenants {
			set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonTenantsNotReady,
				fmt.Sprintf("%d of %s Ready", m.Ready, Plural(int(m.Tenants), "Tenant")))
		} else {
			set(tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonRolledOut,
				fmt.Sprintf("%s applied generation %d and Ready", Plural(int(m.Tenants), "Tenant"), generation))
		}
	}
	return st
}
