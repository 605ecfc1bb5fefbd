package status

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Reasons of a TenantClass's conditions.
const (
	ReasonRolledOut  = "RolledOut"
	ReasonRollingOut = "RollingOut"
)

// ClassMembers counts a class's member Tenants.
type ClassMembers struct {
	// Tenants name the class; Updated have applied its current generation,
	// or are Stalled at their own; Ready are Ready at their own generation.
	Tenants, Updated, Ready int32
	// Stalled are the Updated that have not applied the current generation
	// (Stalled at their own, they are not waited for).
	Stalled int32
}

// CountMember adds one member Tenant to the counts, for a class at generation.
// A member Stalled at its current generation counts as updated: it applies
// nothing until a person fixes its spec, and a rollout waiting for it would
// never end. Flux applies classes first and waits for them before it applies
// Tenants, so such a wait would also hold back the commit with the fix.
func (m *ClassMembers) CountMember(t *tenantryv1alpha1.Tenant, generation int64) {
	m.Tenants++
	observed := t.Status.ObservedGeneration == t.Generation
	stalled := meta.IsStatusConditionTrue(t.Status.Conditions, tenantryv1alpha1.ConditionStalled)
	switch {
	case observed && t.Status.ClassGeneration == generation:
		m.Updated++
	case observed && stalled:
		m.Updated++
		m.Stalled++
	}
	if c := meta.FindStatusCondition(t.Status.Conditions, tenantryv1alpha1.ConditionReady); c != nil &&
		c.Status == metav1.ConditionTrue && c.ObservedGeneration == t.Generation {
		m.Ready++
	}
}

// Class is a TenantClass's status: the rollout of its generation to its
// members, as a Deployment shows its replicas. kstatus reads it: Reconciling
// while some member has not applied the current generation, so Flux and
// Argo CD can wait on a class. Ready means rolled out, whatever the members'
// own health, which each member reports itself: Flux's kstatus takes
// Ready=False for in progress, and a class held in progress by one broken
// member would stop Flux from applying any Tenant (the fix included).
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
		msg := rollout(m, generation)
		set(tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, ReasonRollingOut, msg)
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonRollingOut, msg)
	default:
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionReconciling)
		msg := rollout(m, generation) + " and Ready"
		if m.Ready < m.Tenants {
			msg = fmt.Sprintf("%s; %d Ready", rollout(m, generation), m.Ready)
		}
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonRolledOut, msg)
	}
	return st
}

// rollout says how many members applied generation, and how many are not
// waited for although they did not (Stalled at their own generation).
func rollout(m ClassMembers, generation int64) string {
	applied := m.Updated - m.Stalled
	msg := fmt.Sprintf("%s applied generation %d", Plural(int(m.Tenants), "Tenant"), generation)
	if applied < m.Tenants {
		msg = fmt.Sprintf("%d of %s applied generation %d", applied, Plural(int(m.Tenants), "Tenant"), generation)
	}
	switch {
	case m.Stalled == 1:
		msg += "; 1 is Stalled by its own spec and not waited for"
	case m.Stalled > 1:
		msg += fmt.Sprintf("; %d are Stalled by their own spec and not waited for", m.Stalled)
	}
	return msg
}
