// Package status turns what one reconcile pass observed and did (Outcome)
// into the Tenant's status and the Events worth emitting. It is pure: the
// same Outcome on the same previous status gives the same status.
package status

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
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

// Problem is a reason and a message for a condition.
type Problem struct {
	Reason  string
	Message string
}

// Outcome is what one reconcile pass observed and did: the plan's verdicts
// with the API server's answers to its writes.
type Outcome struct {
	Namespaces  []tenantryv1alpha1.NamespaceStatus
	Managed     int
	Stalled     []Problem // spec errors a person must fix
	Progressing []string  // work still under way
	Err         error     // a transient error; the pass did not complete
	Corrected   []Finding // drift corrected in this pass
	Uncorrected []Finding // drift left in place (Report mode, throttled or failed)
	NewRecords  []tenantryv1alpha1.DriftRecord
	Deleting    bool
	// ClassGeneration is the generation of the Tenant's class the pass
	// applied (0 for none).
	ClassGeneration int64
	// Inventory is the Tenant's namespace inventory after the pass.
	Inventory []tenantryv1alpha1.InventoryEntry
	// Conflicts are objects labelled for the Tenant without proof.
	Conflicts []tenantryv1alpha1.ObjectConflict
	// Halted: the pass stopped before applying anything (the spec was
	// refused); what is in place is as the previous status says.
	Halted bool
	// Quotas are the tenant-wide totals of the Tenant-scope quotas.
	Quotas []tenantryv1alpha1.TenantQuotaStatus
}

// Finding is a drift finding as shown in status: object key and what changed.
type Finding struct {
	Key     string
	Fields  []string
	Manager string
}

// Describe is the finding as condition messages show it.
func (f Finding) Describe() string {
	s := f.Key
	if len(f.Fields) > 0 {
		s += " (" + strings.Join(f.Fields, ", ") + ")"
	}
	if f.Manager != "" {
		s += " by " + f.Manager
	}
	return s
}

// Compute derives the new status from the previous one and what the
// pass observed. Pure: same inputs, same status; no timestamps in messages.
func Compute(prev tenantryv1alpha1.TenantStatus, generation int64, o Outcome, now metav1.Time) tenantryv1alpha1.TenantStatus {
	st := *prev.DeepCopy()
	if o.Err == nil {
		st.ObservedGeneration = generation
	}
	if o.Err == nil && !o.Halted {
		st.ClassGeneration = o.ClassGeneration
		st.Namespaces = o.Namespaces
		st.ManagedObjects = int32(o.Managed)
		st.NamespaceCount = countActive(o.Namespaces)
		st.Conflicts = conflictList(o.Conflicts)
		st.Quotas = o.Quotas
	}
	// Whatever the pass achieved, the inventory records what it created or
	// adopted: an error later in the pass must not lose that proof.
	st.Inventory = o.Inventory
	st.DriftCorrections += int64(len(o.Corrected))
	st.Drift = appendDriftRecords(st.Drift, o.NewRecords)
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
// after a correction (kept until the next Finding); False/NoDrift otherwise.
func setDriftedCondition(st *tenantryv1alpha1.TenantStatus, o Outcome, generation int64, now metav1.Time) {
	switch {
	case len(o.Uncorrected) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonDriftDetected, "Drifted: "+ListFindings(o.Uncorrected))
	case len(o.Corrected) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse,
			tenantryv1alpha1.ReasonDriftCorrected, "Corrected: "+ListFindings(o.Corrected))
	case o.Err != nil || o.Halted:
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

func ListFindings(fs []Finding) string {
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(a, b Finding) int { return strings.Compare(a.Key, b.Key) })
	parts := make([]string, 0, maxListed)
	for i, f := range sorted {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(sorted)-maxListed))
			break
		}
		parts = append(parts, f.Describe())
	}
	return strings.Join(parts, "; ")
}

// setStalledCondition: present only while True (kstatus).
func setStalledCondition(st *tenantryv1alpha1.TenantStatus, o Outcome, generation int64, now metav1.Time) {
	if len(o.Stalled) == 0 || o.Err != nil {
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionStalled)
		return
	}
	reason, message := JoinProblems(o.Stalled)
	setCondition(st, generation, now, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
}

// setReconcilingCondition: present only while True (kstatus).
func setReconcilingCondition(st *tenantryv1alpha1.TenantStatus, o Outcome, generation int64, now metav1.Time) {
	switch {
	case o.Err != nil:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonReconcileError, ErrorMessage(o.Err))
	case o.Deleting:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonDeleting, progressMessage("Deleting", o.Progressing))
	case len(o.Progressing) > 0:
		setCondition(st, generation, now, tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue,
			tenantryv1alpha1.ReasonProgressing, progressMessage("Waiting for", o.Progressing))
	default:
		meta.RemoveStatusCondition(&st.Conditions, tenantryv1alpha1.ConditionReconciling)
	}
}

// setReadyCondition: True only when nothing is stalled, in progress, failing
// or drifted, for the current generation.
func setReadyCondition(st *tenantryv1alpha1.TenantStatus, o Outcome, generation int64, now metav1.Time) {
	status, reason, message := metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled,
		fmt.Sprintf("%s and %s in place", Plural(int(countActive(o.Namespaces)), "namespace"), Plural(o.Managed, "object"))
	switch {
	case o.Err != nil:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonReconcileError, ErrorMessage(o.Err)
	case len(o.Stalled) > 0:
		status = metav1.ConditionFalse
		reason, message = JoinProblems(o.Stalled)
	case o.Deleting:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonDeleting, progressMessage("Deleting", o.Progressing)
	case len(o.Progressing) > 0:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonProgressing, progressMessage("Waiting for", o.Progressing)
	case len(o.Uncorrected) > 0:
		status, reason, message = metav1.ConditionFalse, tenantryv1alpha1.ReasonDriftReported, "Managed objects differ from the spec: "+ListFindings(o.Uncorrected)
	}
	setCondition(st, generation, now, tenantryv1alpha1.ConditionReady, status, reason, message)
}

// JoinProblems uses the first reason (sorted) and joins every message, so that
// several spec errors are all shown and the message does not flap.
func JoinProblems(ps []Problem) (string, string) {
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b Problem) int {
		if c := strings.Compare(a.Reason, b.Reason); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	msgs := make([]string, 0, len(sorted))
	for _, p := range sorted {
		msgs = append(msgs, p.Message)
	}
	return sorted[0].Reason, strings.Join(slices.Compact(msgs), "; ")
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

// ErrorMessage keeps condition messages stable: the error text without
// resource versions or request-specific detail beyond what the API returned.
func ErrorMessage(err error) string {
	msg := err.Error()
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	return msg
}

// OwnedConditions filters the conditions this controller writes.
func OwnedConditions(conds []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range conds {
		if slices.Contains(ownedConditions, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// Transition is an Event worth emitting for a status change.
type Transition struct {
	EventType, Reason, Note string
}

// Transitions returns the Events for notable condition changes between two
// statuses: becoming Ready, losing Ready, and becoming Stalled (with the
// reason). Unchanged conditions emit nothing, so a resync is silent.
func Transitions(prev, next tenantryv1alpha1.TenantStatus) []Transition {
	var out []Transition
	was, is := meta.FindStatusCondition(prev.Conditions, tenantryv1alpha1.ConditionReady), meta.FindStatusCondition(next.Conditions, tenantryv1alpha1.ConditionReady)
	wasReady := was != nil && was.Status == metav1.ConditionTrue
	if is != nil {
		switch isReady := is.Status == metav1.ConditionTrue; {
		case isReady && !wasReady:
			out = append(out, Transition{"Normal", "Ready", is.Message})
		case !isReady && wasReady:
			out = append(out, Transition{"Warning", "NotReady", is.Reason + ": " + is.Message})
		}
	}
	for _, c := range next.Conflicts {
		if !slices.ContainsFunc(prev.Conflicts, func(p tenantryv1alpha1.ObjectConflict) bool { return p == c }) {
			out = append(out, Transition{"Warning", tenantryv1alpha1.EventOwnershipConflict,
				kinds.Key(c.Kind, c.Namespace, c.Name) + " " + c.Message})
		}
	}
	wasStalled, isStalled := meta.FindStatusCondition(prev.Conditions, tenantryv1alpha1.ConditionStalled), meta.FindStatusCondition(next.Conditions, tenantryv1alpha1.ConditionStalled)
	if isStalled != nil && (wasStalled == nil || wasStalled.Reason != isStalled.Reason || wasStalled.Message != isStalled.Message) {
		out = append(out, Transition{"Warning", isStalled.Reason, isStalled.Message})
	}
	return out
}

func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// maxConflicts caps status.conflicts (the CRD's MaxItems).
const maxConflicts = 20

// conflictList sorts, deduplicates and caps the conflicts for status.
func conflictList(cs []tenantryv1alpha1.ObjectConflict) []tenantryv1alpha1.ObjectConflict {
	if len(cs) == 0 {
		return nil
	}
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b tenantryv1alpha1.ObjectConflict) int {
		return strings.Compare(kinds.Key(a.Kind, a.Namespace, a.Name), kinds.Key(b.Kind, b.Namespace, b.Name))
	})
	out = slices.CompactFunc(out, func(a, b tenantryv1alpha1.ObjectConflict) bool {
		return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
	})
	if len(out) > maxConflicts {
		out = out[:maxConflicts]
	}
	return out
}

// AlreadyReported: the finding for key is already on record and still open,
// so Report mode does not add a record and an Event on every pass.
func AlreadyReported(st tenantryv1alpha1.TenantStatus, key string) bool {
	open := false
	for _, c := range st.Conditions {
		if c.Type == tenantryv1alpha1.ConditionDrifted && c.Status == metav1.ConditionTrue {
			open = true
		}
	}
	for _, rec := range st.Drift { // newest first
		if kinds.Key(rec.Kind, rec.Namespace, rec.Name) == key {
			return open && rec.Action == tenantryv1alpha1.DriftActionReported
		}
	}
	return false
}

// InventoryList is the inventory as status shows it, sorted by name.
func InventoryList(m map[string]tenantryv1alpha1.InventoryEntry) []tenantryv1alpha1.InventoryEntry {
	if len(m) == 0 {
		return nil
	}
	out := make([]tenantryv1alpha1.InventoryEntry, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out
}
