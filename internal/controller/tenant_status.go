package controller

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// ownedConditions are the condition types this controller writes; others'
// conditions on the Tenant are left alone.
var ownedConditions = []string{
	tenantryv1alpha1.ConditionReady,
	tenantryv1alpha1.ConditionReconciling,
	tenantryv1alpha1.ConditionStalled,
	tenantryv1alpha1.ConditionDrifted,
}

// maxDriftRecords is how many findings status.drift keeps (contract: 10).
const maxDriftRecords = 10

// maxListed caps how many objects a condition message names.
const maxListed = 5

// problem is a reason and a message for a condition.
type problem struct {
	reason  string
	message string
}

// outcome is what one reconcile pass observed, gathered by the phases and
// turned into status by the pure functions below.
type outcome struct {
	namespaces  []tenantryv1alpha1.NamespaceStatus
	managed     int
	stalled     []problem // spec errors a person must fix
	progressing []string  // work still under way
	err         error     // a transient error; the pass did not complete
	corrected   []finding // drift corrected in this pass
	uncorrected []finding // drift left in place (Report mode, throttled or failed)
	newRecords  []tenantryv1alpha1.DriftRecord
	deleting    bool
	// inventory is the Tenant's namespace inventory after the pass.
	inventory []tenantryv1alpha1.InventoryEntry
	// conflicts are objects labelled for the Tenant without proof.
	conflicts []tenantryv1alpha1.ObjectConflict
	// halted: the pass stopped before applying anything (the spec was
	// refused); what is in place is as the previous status says.
	halted bool
}

// finding is a drift finding as shown in status: object key and what changed.
type finding struct {
	key     string
	fields  []string
	manager string
}

func (f finding) describe() string {
	s := f.key
	if len(f.fields) > 0 {
		s += " (" + strings.Join(f.fields, ", ") + ")"
	}
	if f.manager != "" {
		s += " by " + f.manager
	}
	return s
}

// computeStatus derives the new status from the previous one and what the
// pass observed. Pure: same inputs, same status; no timestamps in messages.
func computeStatus(prev tenantryv1alpha1.TenantStatus, generation int64, o outcome, now metav1.Time) tenantryv1alpha1.TenantStatus {
	st := *prev.DeepCopy()
	if o.err == nil {
		st.ObservedGeneration = generation
	}
	if o.err == nil && !o.halted {
		st.Namespaces = o.namespaces
		st.ManagedObjects = int32(o.managed)
		st.NamespaceCount = countActive(o.namespaces)
		st.Conflicts = conflictList(o.conflicts)
	}
	// Whatever the pass achieved, the inventory records what it created or
	// adopted: an error later in the pass must not lose that proof.
	st.Inventory = o.inventory
	st.DriftCorrections += int64(len(o.corrected))
	st.Drift = appendDriftRecords(st.Drift, o.newRecords)
	setDriftedCondition(&st, o, generation, now)
	setStalledCondition(&st, o, generation, now)
	setReconcilingCondition(&st, o, generation, now)
	setReadyCondition(&st, o, generation, now)
	return st
}

func countActive(nss []tenantryv1alpha1.NamespaceStatus) int32 {
	var n int32
	for _, ns := range nss {
		if ns.Phase == tenantryv1alpha1.NamespaceActive {
			n++
		}
	}
	return n
}

// appendDriftRecords puts new records first and keeps the newest ten.
func appendDriftRecords(prev, added []tenantryv1alpha1.DriftRecord) []tenantryv1alpha1.DriftRecord {
	if len(added) == 0 {
		return prev
	}
	out := append(slices.Clone(added), prev...)
	if len(out) > maxDriftRecords {
		out = out[:maxDriftRecords]
	}
	return out
}

func setCondition(st *tenantryv1alpha1.TenantStatus, generation int64, now metav1.Time, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: now,
	})
}

// setDriftedCondition: True while uncorrected drift exists; False/DriftCorrected
// after a correction (kept until the next finding); False/NoDrift otherwise.
func setDriftedCondition(st *tenantryv1alpha1.TenantStatus, o outcome, generation int64, now metav1.Time) {
	switch {
	case len(o.uncorrected) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonDriftDetected, "Drifted: "+listFindings(o.uncorrected))
	case len(o.corrected) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse,
			tenantryv1alpha1.ReasonDriftCorrected, "Corrected: "+listFindings(o.corrected))
	case o.err != nil || o.halted:
		// A failed or halted pass learned nothing new about drift: keep what was there.
		if meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionDrifted) == nil {
			setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse,
				tenantryv1alpha1.ReasonNoDrift, "No drift found")
		}
	default:
		c := meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionDrifted)
		if c == nil || c.Status == metav1.ConditionTrue {
			reason, message := tenantryv1alpha1.ReasonNoDrift, "No drift found"
			if c != nil || st.DriftCorrections > 0 {
				// The drift is gone (undone by someone, or the policy changed).
				reason, message = tenantryv1alpha1.ReasonDriftCorrected, "Drift resolved; all managed objects match the spec"
			}
			setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse, reason, message)
		} else {
			c.ObservedGeneration = generation
		}
	}
}

func listFindings(fs []finding) string {
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(a, b finding) int { return strings.Compare(a.key, b.key) })
	parts := make([]string, 0, maxListed)
	for i, f := range sorted {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(sorted)-maxListed))
			break
		}
		parts = append(parts, f.describe())
	}
	return strings.Join(parts, "; ")
}

// setStalledCondition: present only while True (kstatus).
func setStalledCondition(st *tenantryv1alpha1.TenantStatus, o outcome, generation int64, now metav1.Time) {
	if len(o.stalled) == 0 || o.err != nil {
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionStalled)
		return
	}
	reason, message := joinProblems(o.stalled)
	setCondition(st, generation, now, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
}

// setReconcilingCondition: present only while True (kstatus).
func setReconcilingCondition(st *tenantryv1alpha1.TenantStatus, o outcome, generation int64, now metav1.Time) {
	switch {
	case o.err != nil:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonReconcileError, errorMessage(o.err))
	case o.deleting:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonDeleting, progressMessage("Deleting", o.progressing))
	case len(o.progressing) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonProgressing, progressMessage("Waiting for", o.progressing))
	default:
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionReconciling)
	}
}

// setReadyCondition: True only when nothing is stalled, in progress, failing
// or drifted, for the current generation.
func setReadyCondition(st *tenantryv1alpha1.TenantStatus, o outcome, generation int64, now metav1.Time) {
	status, reason, message := metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled,
		fmt.Sprintf("%s and %s in place", plural(int(countActive(o.namespaces)), "namespace"), plural(o.managed, "object"))
	switch {
	case o.err != nil:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonReconcileError, errorMessage(o.err)
	case len(o.stalled) > 0:
		status = metav1.ConditionFalse
		reason, message = joinProblems(o.stalled)
	case o.deleting:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonDeleting, progressMessage("Deleting", o.progressing)
	case len(o.progressing) > 0:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonProgressing, progressMessage("Waiting for", o.progressing)
	case len(o.uncorrected) > 0:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonDriftReported, "Managed objects differ from the spec: "+listFindings(o.uncorrected)
	}
	setCondition(st, generation, now, tenantryv1alpha1.ConditionReady, status, reason, message)
}

// joinProblems uses the first reason (sorted) and joins every message, so that
// several spec errors are all shown and the message does not flap.
func joinProblems(ps []problem) (string, string) {
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b problem) int {
		if c := strings.Compare(a.reason, b.reason); c != 0 {
			return c
		}
		return strings.Compare(a.message, b.message)
	})
	msgs := make([]string, 0, len(sorted))
	for _, p := range sorted {
		msgs = append(msgs, p.message)
	}
	return sorted[0].reason, strings.Join(slices.Compact(msgs), "; ")
}

func progressMessage(prefix string, items []string) string {
	if len(items) == 0 {
		return prefix + " managed objects"
	}
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	if len(sorted) > maxListed {
		sorted = append(sorted[:maxListed], fmt.Sprintf("and %d more", len(items)-maxListed))
	}
	return prefix + " " + strings.Join(sorted, ", ")
}

// errorMessage keeps condition messages stable: the error text without
// resource versions or request-specific detail beyond what the API returned.
func errorMessage(err error) string {
	msg := err.Error()
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	return msg
}

// ownedStatusConditions filters the conditions this controller writes.
func ownedStatusConditions(conds []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range conds {
		if slices.Contains(ownedConditions, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// transitionEvent is an Event worth emitting for a status change.
type transitionEvent struct {
	eventType, reason, note string
}

// transitions returns the Events for notable condition changes between two
// statuses: becoming Ready, losing Ready, and becoming Stalled (with the
// reason). Unchanged conditions emit nothing, so a resync is silent.
func transitions(prev, next tenantryv1alpha1.TenantStatus) []transitionEvent {
	var out []transitionEvent
	was, is := meta.FindStatusCondition(prev.Conditions, tenantryv1alpha1.ConditionReady), meta.FindStatusCondition(next.Conditions, tenantryv1alpha1.ConditionReady)
	wasReady := was != nil && was.Status == metav1.ConditionTrue
	if is != nil {
		switch isReady := is.Status == metav1.ConditionTrue; {
		case isReady && !wasReady:
			out = append(out, transitionEvent{"Normal", "Ready", is.Message})
		case !isReady && wasReady:
			out = append(out, transitionEvent{"Warning", "NotReady", is.Reason + ": " + is.Message})
		}
	}
	for _, c := range next.Conflicts {
		if !slices.ContainsFunc(prev.Conflicts, func(p tenantryv1alpha1.ObjectConflict) bool { return p == c }) {
			out = append(out, transitionEvent{"Warning", tenantryv1alpha1.EventOwnershipConflict,
				render.ObjectKey(c.Kind, c.Namespace, c.Name) + " " + c.Message})
		}
	}
	wasStalled, isStalled := meta.FindStatusCondition(prev.Conditions, tenantryv1alpha1.ConditionStalled), meta.FindStatusCondition(next.Conditions, tenantryv1alpha1.ConditionStalled)
	if isStalled != nil && (wasStalled == nil || wasStalled.Reason != isStalled.Reason || wasStalled.Message != isStalled.Message) {
		out = append(out, transitionEvent{"Warning", isStalled.Reason, isStalled.Message})
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
