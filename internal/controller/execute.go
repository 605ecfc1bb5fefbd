package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/metrics"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/internal/status"
)

// execution carries out one pass's plan and keeps what the API server
// answered, for the status.
type execution struct {
	r      *TenantReconciler
	tenant *tenantryv1alpha1.Tenant

	// writes counts the API writes of the pass (logged at debug level).
	writes int
	// managed counts the desired objects the writes left in place.
	managed int
	// failed are the objects the API server refused; the rest go on.
	failed []error
	// corrected, uncorrected and records are the drift this pass undid or
	// could not undo (throttled), and its status.drift records.
	corrected, uncorrected []status.Finding
	records                []tenantryv1alpha1.DriftRecord
	// adopted holds the status note of each namespace this pass adopted.
	adopted map[string]string
	// inventory is status.inventory as the pass leaves it.
	inventory map[string]tenantryv1alpha1.InventoryEntry
	// claims are the NamespaceClaims observed, by <namespace>/<name>.
	claims map[string]*tenantryv1alpha1.NamespaceClaim
	// requeueAfter is when the Tenant wants its next pass at the latest.
	requeueAfter time.Duration
	// seen is when the change that made this pass urgent was seen (zero
	// for other passes), started when the pass began: a repair's timing.
	seen, started time.Time
	// lastWrite is how long the pass's last write took (a correction's own
	// share of its repair time).
	lastWrite time.Duration
}

func (r *TenantReconciler) newExecution(t *tenantryv1alpha1.Tenant) *execution {
	ex := &execution{r: r, tenant: t, adopted: map[string]string{},
		inventory: map[string]tenantryv1alpha1.InventoryEntry{}}
	for _, e := range t.Status.Inventory {
		ex.inventory[e.Name] = e
	}
	return ex
}

// requeue asks for another pass after d at the latest.
func (ex *execution) requeue(d time.Duration) {
	if d > 0 && (ex.requeueAfter == 0 || d < ex.requeueAfter) {
		ex.requeueAfter = d
	}
}

// refused keeps an error the API server gave for one object and reports
// whether the pass goes on: a transient error or a conflict ends it, since
// the next writes would fail the same way.
func (ex *execution) refused(err error) bool {
	if apierr.IsTransient(err) || apierrors.IsConflict(err) {
		return false
	}
	ex.failed = append(ex.failed, err)
	return true
}

// namespaces executes the namespace writes and records in obs what the API
// server answered, for the plan to be made again.
func (ex *execution) namespaces(ctx context.Context, actions []plan.Action, obs *plan.Observed) error {
	for _, a := range actions {
		name := a.Object.Name
		if a.Op == plan.OpCorrect && !ex.allowCorrection(a) {
			continue
		}
		if a.Op == plan.OpAdopt {
			note, err := ex.r.recordAdoption(ctx, ex, name)
			if err != nil {
				if !ex.refused(err) {
					return err
				}
				obs.Refused[name] = status.ErrorMessage(err)
				continue
			}
			if note != "" {
				ex.adopted[name] = note
			}
		}
		ns, err := ex.applyNamespace(ctx, a)
		if err != nil {
			if !ex.refused(err) {
				return err
			}
			obs.Refused[name] = status.ErrorMessage(err)
			continue
		}
		obs.Namespaces[name] = plan.Namespace{Object: ns}
		if entry, ok := ex.inventoryEntry(a, ns); ok {
			obs.Inventory[name] = entry
		}
		ex.corrections(ctx, a)
	}
	return nil
}

// inventoryEntry is the inventory entry a namespace apply proves: Adopted
// for an adoption, Created only when this apply created it (it was absent,
// and the API server's answer shows no writer but Tenantry).
func (ex *execution) inventoryEntry(a plan.Action, ns *corev1.Namespace) (tenantryv1alpha1.InventoryEntry, bool) {
	entry := tenantryv1alpha1.InventoryEntry{Name: ns.Name, UID: ns.UID, Origin: tenantryv1alpha1.NamespaceAdopted,
		Claim: ns.Annotations[tenantryv1alpha1.ClaimAnnotation]}
	switch {
	case ns.UID == "":
		return entry, false // the next pass sees it in the cache
	case a.Op == plan.OpAdopt:
	case a.Created:
		if plan.OnlyTenantryWrote(ns) {
			entry.Origin = tenantryv1alpha1.NamespaceCreated
		}
	default:
		return entry, false
	}
	return entry, true
}

// rest executes every write of the plan but the namespaces' own, in order.
// An object the API server refuses does not stop the others; a deletion or
// release that fails ends the pass, so nothing is left half-released.
func (ex *execution) rest(ctx context.Context, p *plan.Plan) error {
	// What the plan found in sync: the next pass over the same versions
	// and inputs skips their fingerprints.
	for _, m := range p.Marks {
		ex.r.verified.Mark(ex.tenant.Name, m.Key, m.ResourceVersion, m.Inputs)
	}
	for _, rep := range p.Reports {
		if rep.Record {
			ex.recordDrift(rep.Finding, tenantryv1alpha1.DriftActionReported)
		}
	}
	for _, a := range p.Actions {
		var err error
		switch {
		case a.Object.Kind == kinds.Namespace && a.Op != plan.OpDelete && a.Op != plan.OpRelease:
			// Written before this plan was made; one left is throttled.
			if a.Exists {
				ex.managed++
			}
			continue
		case a.Op == plan.OpApply || a.Op == plan.OpCorrect:
			if a.Op == plan.OpCorrect && !ex.allowCorrection(a) {
				if a.Exists {
					ex.managed++
				}
				continue
			}
			if err = ex.apply(ctx, a); err == nil {
				ex.managed++
				ex.corrections(ctx, a)
				continue
			}
			if ex.refused(err) {
				continue
			}
		case a.Op == plan.OpDelete:
			err = ex.delete(ctx, a.Target)
		case a.Op == plan.OpRelease:
			err = ex.release(ctx, a.Target)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// allowCorrection asks the object's rate limit for a correction. A storm
// (someone keeps rewriting the object) is corrected again when its next
// token is due, not on every write they make; meanwhile it is reported.
func (ex *execution) allowCorrection(a plan.Action) bool {
	ok, wait := ex.r.limiter.Allow(a.Key())
	if ok {
		return true
	}
	f := findingOf(*a.Finding)
	f.Fields = append(f.Fields, "correction throttled")
	ex.uncorrected = append(ex.uncorrected, f)
	ex.requeue(wait)
	return false
}

// corrections records a correction that was applied.
func (ex *execution) corrections(ctx context.Context, a plan.Action) {
	if a.Op != plan.OpCorrect {
		return
	}
	ex.corrected = append(ex.corrected, findingOf(*a.Finding))
	action := tenantryv1alpha1.DriftActionCorrected
	if a.Finding.Reason == drift.Missing {
		action = tenantryv1alpha1.DriftActionRecreated
	}
	ex.recordDrift(*a.Finding, action)
	ex.logCorrection(ctx, *a.Finding, action)
}

// logCorrection logs a correction, with its timing when the change was
// seen by the watch: how long its pass waited in the queue, how long it
// took from the change seen to the correction written, and the write's own
// share of that.
func (ex *execution) logCorrection(ctx context.Context, f drift.Finding, action tenantryv1alpha1.DriftAction) {
	// "object", not namespace/name: the pass's logger already has those of the Tenant.
	kv := []any{"kind", f.Kind, "object", klog.KRef(f.Namespace, f.Name), "action", action}
	if !ex.seen.IsZero() {
		took := time.Since(ex.seen)
		metrics.RepairTime.Observe(took.Seconds())
		kv = append(kv, "sinceSeen", took, "queueWait", ex.started.Sub(ex.seen), "write", ex.lastWrite)
	}
	logf.FromContext(ctx).Info("Corrected drift", kv...)
}

func findingOf(f drift.Finding) status.Finding {
	return status.Finding{Key: f.Key(), Fields: f.Fields, Manager: f.Manager()}
}

// apply server-side applies a desired object as field manager tenantry,
// taking over fields others wrote (ForceOwnership): Tenantry's spec wins.
func (ex *execution) apply(ctx context.Context, a plan.Action) error {
	d := a.Object
	if a.ResourceVersion != "" {
		d.Apply = conditional(d.Apply, a.ResourceVersion)
	}
	start := time.Now()
	err := ex.r.Client.Apply(ctx, d.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership)
	if apierr.IsImmutable(err) {
		err = ex.r.replace(ctx, ex, d)
	}
	ex.lastWrite = time.Since(start)
	if err != nil {
		return fmt.Errorf("apply %s: %w", d.Key(), err)
	}
	ex.writes++
	ex.r.verified.Mark(ex.tenant.Name, d.Key(), appliedResourceVersion(d.Apply), a.Inputs)
	logf.FromContext(ctx).V(1).Info("Applied "+d.Kind, "namespace", d.Namespace, "name", d.Name)
	return nil
}

// conditional is a copy of a quota's apply configuration that the API
// server applies only to version rv (409 otherwise): a share lowered from
// the usage rv counted never lands below usage admitted since.
func conditional(ac runtime.ApplyConfiguration, rv string) runtime.ApplyConfiguration {
	rq, ok := ac.(*corev1ac.ResourceQuotaApplyConfiguration)
	if !ok {
		return ac
	}
	out := *rq
	meta := *rq.ObjectMetaApplyConfiguration
	out.ObjectMetaApplyConfiguration = &meta
	return out.WithResourceVersion(rv)
}

// applyNamespace applies a namespace and returns the API server's answer
// whole: typed apply configurations drop its writers (managedFields), which
// tell whether this apply created it.
func (ex *execution) applyNamespace(ctx context.Context, a plan.Action) (*corev1.Namespace, error) {
	u, err := toUnstructured(a.Object)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = ex.r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership)
	ex.lastWrite = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", a.Object.Key(), err)
	}
	ex.writes++
	ex.r.verified.Mark(ex.tenant.Name, a.Object.Key(), u.GetResourceVersion(), a.Inputs)
	logf.FromContext(ctx).V(1).Info("Applied Namespace", "name", a.Object.Name)
	ns := &corev1.Namespace{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ns); err != nil {
		return nil, err
	}
	return ns, nil
}

// delete deletes an object, pinned to the UID the plan saw (none for a
// cached copy that keeps no UID).
func (ex *execution) delete(ctx context.Context, ref plan.Ref) error {
	obj := kinds.ByName(ref.Kind).New()
	obj.SetNamespace(ref.Namespace)
	obj.SetName(ref.Name)
	var opts []client.DeleteOption
	if ref.UID != "" {
		uid := ref.UID
		opts = append(opts, client.Preconditions{UID: &uid})
	}
	if err := ex.r.Client.Delete(ctx, obj, opts...); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete %s: %w", ref.Key(), err)
	}
	ex.writes++
	logf.FromContext(ctx).Info("Deleted "+ref.Kind, "namespace", ref.Namespace, "name", ref.Name)
	return nil
}

// release gives up Tenantry's labels and annotations on a departing
// namespace and puts back what adoption overwrote.
func (ex *execution) release(ctx context.Context, ref plan.Ref) error {
	d := render.ReleasedNamespace(ref.Name)
	if err := ex.r.Client.Apply(ctx, d.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("release %s: %w", d.Key(), err)
	}
	ex.writes++
	if err := ex.r.restoreAdopted(ctx, ex, ref.Name); err != nil {
		return err
	}
	delete(ex.inventory, ref.Name)
	logf.FromContext(ctx).Info("Released Namespace", "namespace", ref.Name)
	return nil
}

// recordDrift adds a status.drift record, an Event and a metric for a finding.
func (ex *execution) recordDrift(f drift.Finding, action tenantryv1alpha1.DriftAction) {
	ex.records = append(ex.records, tenantryv1alpha1.DriftRecord{
		Time: metav1.NewTime(ex.r.now()), Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Action: action, Manager: f.Manager(), Fields: f.Fields,
	})
	metrics.DriftFindings.WithLabelValues(ex.tenant.Name, f.Kind, string(action)).Inc()
	eventType, reason := corev1.EventTypeNormal, tenantryv1alpha1.EventDriftCorrected
	if action == tenantryv1alpha1.DriftActionReported {
		eventType, reason = corev1.EventTypeWarning, tenantryv1alpha1.EventDriftDetected
	}
	if ex.r.Recorder != nil {
		ex.r.Recorder.Eventf(ex.tenant, nil, eventType, reason, string(action), "%s", driftNote(f, action))
	}
}

// driftNote is the Event message: the object, what changed and who changed it.
func driftNote(f drift.Finding, action tenantryv1alpha1.DriftAction) string {
	what := map[drift.Reason]string{drift.Missing: "was deleted", drift.Relabelled: "lost its tenantry.io/tenant label", drift.Modified: "was modified"}[f.Reason]
	msg := fmt.Sprintf("%s %s", f.Key(), what)
	if len(f.Fields) > 0 && f.Reason == drift.Modified {
		msg += fmt.Sprintf(" (%s)", joinSorted(f.Fields))
	}
	if m := f.Manager(); m != "" {
		msg += " by " + m
	}
	if action == tenantryv1alpha1.DriftActionReported {
		return msg + "; left as is (driftPolicy: Report)"
	}
	return msg + "; restored"
}

func toUnstructured(d render.Object) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(d.Apply)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(data)
}

// appliedResourceVersion reads the resourceVersion the server returned into
// an applied configuration (every typed one embeds ObjectMetaApplyConfiguration).
func appliedResourceVersion(ac runtime.ApplyConfiguration) string {
	v := reflect.ValueOf(ac)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return ""
	}
	meta, ok := v.Elem().FieldByName("ObjectMetaApplyConfiguration").Interface().(*metav1ac.ObjectMetaApplyConfiguration)
	if !ok || meta == nil || meta.ResourceVersion == nil {
		return ""
	}
	return *meta.ResourceVersion
}

func joinSorted(items []string) string {
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	return strings.Join(sorted, ", ")
}
