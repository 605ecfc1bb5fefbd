package status

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// ClaimVerdict is what a plan decided about one NamespaceClaim.
type ClaimVerdict struct {
	// Namespace and Name identify the claim; Name is the namespace it asks for.
	Namespace, Name string
	// Generation is the claim's metadata.generation the verdict is for.
	Generation int64
	// Accepted: the claim gets its namespace, whose phase and message
	// (from the Tenant's status.namespaces) are Phase and Message.
	Accepted bool
	Phase    tenantryv1alpha1.NamespacePhase
	// Reason and Message say why a claim is refused (a Stalled reason).
	Reason, Message string
	// Halted: the Tenant's spec is refused as a whole (Reason and Message
	// are the Tenant's); the claim is not decided, and keeps any namespace.
	Halted bool
}

// Key is <namespace>/<name>.
func (v ClaimVerdict) Key() string { return v.Namespace + "/" + v.Name }

// Claim computes a claim's status from its verdict and the pass's error
// (nil when the pass succeeded). Ready is True only when the namespace is
// Active and the pass that made it succeeded; Reconciling and Stalled are
// present only while True (kstatus).
func Claim(prev tenantryv1alpha1.NamespaceClaimStatus, v ClaimVerdict, passErr error, now metav1.Time) tenantryv1alpha1.NamespaceClaimStatus {
	st := *prev.DeepCopy()
	st.ObservedGeneration = v.Generation
	set := func(typ string, s metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason,
			Message: message, ObservedGeneration: v.Generation, LastTransitionTime: now})
	}
	drop := func(types ...string) {
		for _, t := range types {
			meta.RemoveStatusCondition(&st.Conditions, t)
		}
	}
	if !v.Accepted {
		if !v.Halted {
			st.Namespace = "" // a halted Tenant takes no namespace away
		}
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, v.Reason, v.Message)
		set(tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, v.Reason, v.Message)
		drop(tenantryv1alpha1.ConditionReconciling)
		return st
	}
	st.Namespace = v.Name
	drop(tenantryv1alpha1.ConditionStalled)
	reason, message := tenantryv1alpha1.ReasonProgressing, "Waiting for namespace "+v.Name
	switch {
	case passErr != nil:
		reason, message = tenantryv1alpha1.ReasonReconcileError, ErrorMessage(passErr)
	case v.Phase == tenantryv1alpha1.NamespaceActive:
		set(tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled,
			"namespace "+v.Name+" is Active and reconciled")
		drop(tenantryv1alpha1.ConditionReconciling)
		return st
	case v.Message != "":
		message += ": " + v.Message
	}
	set(tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	set(tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	return st
}
