package controller

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/render"
)

// ensureResult is the state of an object after ensure.
type ensureResult struct {
	exists      bool
	terminating bool // a namespace being deleted
	// uid and soleWriter are known for a namespace this pass applied:
	// soleWriter says the API server's answer shows no writer but Tenantry.
	uid        types.UID
	soleWriter bool
}

// ensureCached ensures one desired object, reading the live one from the cache.
func (r *TenantReconciler) ensureCached(ctx context.Context, s *scope, d render.Object) error {
	s.desired[d.Key()] = true
	obj := kindInfoByName(d.Kind).newObject()
	var live client.Object
	switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: d.Name}, obj); {
	case err == nil:
		live = obj
	case !apierrors.IsNotFound(err):
		return err
	}
	_, err := r.ensure(ctx, s, d, live, live != nil)
	return err
}

// ensure brings one object to its desired state, writing only when it differs.
// live is the object as the cache (selected=true) or a direct read
// (selected=false) shows it, nil when neither has it.
//
// The cache holds slim copies (slimForCache): an untouched object, the
// common case, is recognised by its fingerprint, or as a version already
// verified for these inputs. Any other object that should already exist is
// suspected drift and read whole from the API server, which both confirms it
// (the cache can be a step behind our own last write, and a false finding
// would write for nothing) and shows who changed what.
func (r *TenantReconciler) ensure(ctx context.Context, s *scope, d render.Object, live client.Object, selected bool) (ensureResult, error) {
	expected := s.expectExisting(d)
	if fp, slim := cachedFingerprint(live); slim {
		if r.verified.inSync(s, d, live) {
			s.outcome.managed++
			return resultOf(live), nil
		}
		if want, err := drift.DesiredFingerprint(d); err == nil && fp == want {
			r.verified.mark(s, d, live.GetResourceVersion())
			s.outcome.managed++
			return resultOf(live), nil
		}
		if !expected {
			// A new spec or an adoption: apply what is wanted now.
			return r.applyManaged(ctx, s, d)
		}
		live = nil // suspected drift: read it whole below
	}
	if live == nil && expected {
		var err error
		if live, err = r.readDirect(ctx, d); err != nil {
			return ensureResult{}, err
		}
		selected = isTenants(live, s.tenant.Name)
	}
	f, found, err := drift.Evaluate(drift.Observation{Desired: d, Live: live, Selected: selected})
	if err != nil {
		return ensureResult{}, err
	}
	var res ensureResult
	switch {
	case !found:
		res = resultOf(live)
		if selected {
			r.verified.mark(s, d, live.GetResourceVersion())
		}
	case !expected:
		// A new object, a spec change or an adoption: not drift.
		res, err = r.apply(ctx, s, d)
	default:
		res, err = r.handleDrift(ctx, s, d, f, live)
	}
	if res.exists {
		s.outcome.managed++
	}
	return res, err
}

// applyManaged applies d and counts it as managed.
func (r *TenantReconciler) applyManaged(ctx context.Context, s *scope, d render.Object) (ensureResult, error) {
	res, err := r.apply(ctx, s, d)
	if res.exists {
		s.outcome.managed++
	}
	return res, err
}

// handleDrift corrects (rate-limited per object) or reports one finding.
func (r *TenantReconciler) handleDrift(ctx context.Context, s *scope, d render.Object, f drift.Finding, live client.Object) (ensureResult, error) {
	fd := finding{key: f.Key(), fields: f.Fields, manager: f.Manager()}
	if s.tenant.Spec.DriftPolicy == tenantryv1alpha1.DriftPolicyReport {
		s.outcome.uncorrected = append(s.outcome.uncorrected, fd)
		if !alreadyReported(s.tenant.Status, fd.key) {
			r.recordDrift(s, f, tenantryv1alpha1.DriftActionReported)
		}
		return resultOf(live), nil
	}
	if ok, wait := r.limiter.allow(fd.key); !ok {
		// A storm: someone keeps rewriting this object. Correct it again when
		// its next token is due, not on every write they make.
		fd.fields = append(fd.fields, "correction throttled")
		s.outcome.uncorrected = append(s.outcome.uncorrected, fd)
		s.requeue(wait)
		return resultOf(live), nil
	}
	res, err := r.apply(ctx, s, d)
	if err != nil {
		return res, err
	}
	s.outcome.corrected = append(s.outcome.corrected, fd)
	action := tenantryv1alpha1.DriftActionCorrected
	if f.Reason == drift.Missing {
		action = tenantryv1alpha1.DriftActionRecreated
	}
	r.recordDrift(s, f, action)
	return res, nil
}

// recordDrift adds a status.drift record, an Event and a metric for a finding.
func (r *TenantReconciler) recordDrift(s *scope, f drift.Finding, action tenantryv1alpha1.DriftAction) {
	s.outcome.newRecords = append(s.outcome.newRecords, tenantryv1alpha1.DriftRecord{
		Time: metav1.NewTime(r.now()), Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Action: action, Manager: f.Manager(), Fields: f.Fields,
	})
	driftFindings.WithLabelValues(s.tenant.Name, f.Kind, string(action)).Inc()
	eventType, reason := corev1.EventTypeNormal, tenantryv1alpha1.EventDriftCorrected
	if action == tenantryv1alpha1.DriftActionReported {
		eventType, reason = corev1.EventTypeWarning, tenantryv1alpha1.EventDriftDetected
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(s.tenant, nil, eventType, reason, string(action), "%s", driftNote(f, action))
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

// alreadyReported: the finding for key is already on record and still open,
// so Report mode does not add a record and an Event on every pass.
func alreadyReported(st tenantryv1alpha1.TenantStatus, key string) bool {
	open := false
	for _, c := range st.Conditions {
		if c.Type == tenantryv1alpha1.ConditionDrifted && c.Status == metav1.ConditionTrue {
			open = true
		}
	}
	for _, rec := range st.Drift { // newest first
		if render.ObjectKey(rec.Kind, rec.Namespace, rec.Name) == key {
			return open && rec.Action == tenantryv1alpha1.DriftActionReported
		}
	}
	return false
}

// apply server-side applies a desired object as field manager tenantry,
// taking over fields others wrote (ForceOwnership): Tenantry's spec wins.
func (r *TenantReconciler) apply(ctx context.Context, s *scope, d render.Object) (ensureResult, error) {
	if ns, ok := d.Apply.(*corev1ac.NamespaceApplyConfiguration); ok {
		return r.applyNamespace(ctx, s, d, ns)
	}
	err := r.Client.Apply(ctx, d.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership)
	if immutableChange(err) {
		err = r.replace(ctx, s, d)
	}
	if err != nil {
		return ensureResult{}, fmt.Errorf("apply %s: %w", d.Key(), err)
	}
	s.writes++
	r.verified.mark(s, d, appliedResourceVersion(d.Apply))
	logf.FromContext(ctx).V(1).Info("Applied "+d.Kind, "namespace", d.Namespace, "name", d.Name)
	return ensureResult{exists: true}, nil
}

// applyNamespace applies a namespace and reads from the API server's answer
// what typed apply configurations drop: its writers (managedFields), which
// tell whether this apply created it.
func (r *TenantReconciler) applyNamespace(ctx context.Context, s *scope, d render.Object, ns *corev1ac.NamespaceApplyConfiguration) (ensureResult, error) {
	u, err := toUnstructured(d)
	if err != nil {
		return ensureResult{}, err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return ensureResult{}, fmt.Errorf("apply %s: %w", d.Key(), err)
	}
	s.writes++
	r.verified.mark(s, d, u.GetResourceVersion())
	logf.FromContext(ctx).V(1).Info("Applied Namespace", "name", d.Name)
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return ensureResult{
		exists:      true,
		terminating: phase == string(corev1.NamespaceTerminating),
		uid:         u.GetUID(),
		soleWriter:  onlyTenantryWrote(u.GetManagedFields()),
	}, nil
}

// onlyTenantryWrote: no field manager but Tenantry's main one has written
// the object (its adoption and release managers mean it was adopted).
func onlyTenantryWrote(mfs []metav1.ManagedFieldsEntry) bool {
	for _, mf := range mfs {
		if mf.Manager != tenantryv1alpha1.FieldManager {
			return false
		}
	}
	return len(mfs) > 0
}

// readDirect reads an object from the API server, bypassing the cache; nil
// when it does not exist.
func (r *TenantReconciler) readDirect(ctx context.Context, d render.Object) (client.Object, error) {
	obj := kindInfoByName(d.Kind).newObject()
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: d.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return obj, nil
}

func resultOf(live client.Object) ensureResult {
	if live == nil {
		return ensureResult{}
	}
	return ensureResult{exists: true, terminating: !live.GetDeletionTimestamp().IsZero(), uid: live.GetUID()}
}

func isTenants(obj client.Object, tenant string) bool {
	return obj != nil && obj.GetLabels()[tenantryv1alpha1.TenantLabel] == tenant
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
