package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/gather"
	"github.com/tenantry/tenantry/internal/metrics"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/status"
)

// stalledRetry is how often a Stalled or waiting Tenant is re-checked.
const stalledRetry = time.Minute

// pass is one reconcile pass: gather → plan → execute → status. seen is
// when the change that made it urgent was seen (zero for other passes).
func (r *TenantReconciler) pass(ctx context.Context, t *tenantryv1alpha1.Tenant, seen time.Time) (ctrl.Result, error) {
	r.useLatestStatus(t)
	ex := r.newExecution(t)
	ex.seen, ex.started = seen, time.Now()
	e, err := gather.Effective(ctx, r.source(), t, r.effectiveOptions())
	var p *plan.Plan
	if err == nil {
		p, err = r.planAndExecute(ctx, t, e, ex)
	}
	if err == nil && len(ex.failed) > 0 {
		err = apierr.Join(ex.failed)
	}
	if apierrors.IsConflict(err) {
		// Someone else moved the object on; a fresh pass sorts it out. A 409
		// never reaches a condition message.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if err == nil && p.Finalize {
		return ctrl.Result{}, r.removeFinalizer(ctx, t)
	}
	if err == nil {
		r.failures.Succeeded(t.Name)
	} else if now := r.now(); !apierr.Show(err, r.failures.Failed(t.Name, now), now) {
		// A transient error, not yet persistent: retry with backoff and leave
		// the status as it was, so conditions do not flap with error text.
		return ctrl.Result{}, err
	}
	o := outcomeOf(t, e, p, ex, err)
	switch statusErr := r.writeStatus(ctx, t, o, ex); {
	case statusErr == nil:
	case err != nil:
		// Both are returned: the pass's own error must not hide this one.
		err = errors.Join(err, fmt.Errorf("write status: %w", statusErr))
	case apierrors.IsConflict(statusErr) || apierrors.IsNotFound(statusErr):
		return ctrl.Result{RequeueAfter: time.Second}, nil
	default:
		err = statusErr
	}
	if claimErr := r.writeClaims(ctx, t, p, ex, o.Err); claimErr != nil {
		err = errors.Join(err, claimErr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	logf.FromContext(ctx).V(1).Info("Reconciled Tenant", "writes", ex.writes, "managedObjects", o.Managed)
	return ctrl.Result{RequeueAfter: r.nextCheck(o, ex)}, nil
}

// planAndExecute gathers, plans and executes. Namespaces are written first
// and the plan is made again from the API server's answers: whether each
// namespace now exists, is being deleted or was refused decides which
// children are made and what the per-tenant ClusterRole names.
func (r *TenantReconciler) planAndExecute(ctx context.Context, t *tenantryv1alpha1.Tenant, e *effective.Tenant, ex *execution) (*plan.Plan, error) {
	src := r.source()
	obs, err := gather.Observe(ctx, src, t, e)
	if err != nil {
		return nil, err
	}
	obs.Verified = r.verified.Lookup(t.Name)
	ex.claims = map[string]*tenantryv1alpha1.NamespaceClaim{}
	for i := range obs.Claims {
		ex.claims[plan.ClaimKey(&obs.Claims[i])] = &obs.Claims[i]
	}
	p, err := gather.Plan(ctx, src, e, obs, r.planConfig())
	if err != nil {
		return nil, err
	}
	ex.inventory = maps.Clone(p.Inventory)
	if p.Halted {
		return p, nil
	}
	if nsActions := p.NamespaceActions(); len(nsActions) > 0 {
		if err := ex.namespaces(ctx, nsActions, obs); err != nil {
			return p, err
		}
		if p, err = gather.Plan(ctx, src, e, obs, r.planConfig()); err != nil {
			return nil, err
		}
		ex.inventory = maps.Clone(p.Inventory)
	}
	return p, ex.rest(ctx, p)
}

// outcomeOf is what the pass observed and did, as status reads it.
func outcomeOf(t *tenantryv1alpha1.Tenant, e *effective.Tenant, p *plan.Plan, ex *execution, err error) status.Outcome {
	o := status.Outcome{
		Err:       err,
		Deleting:  !t.DeletionTimestamp.IsZero(),
		Inventory: status.InventoryList(ex.inventory),
		Corrected: ex.corrected, Uncorrected: ex.uncorrected, NewRecords: ex.records,
	}
	if p == nil {
		return o
	}
	o.ClassGeneration = e.ClassGeneration
	o.Halted, o.Stalled, o.Progressing, o.Conflicts = p.Halted, p.Stalled, p.Progressing, p.Conflicts
	o.Quotas = p.Quotas
	o.Managed = p.InPlace + ex.managed
	for _, ns := range p.Namespaces {
		if note, ok := ex.adopted[ns.Name]; ok && ns.Phase == tenantryv1alpha1.NamespaceActive {
			ns.Message = note
		}
		o.Namespaces = append(o.Namespaces, ns)
	}
	for _, rep := range p.Reports {
		o.Uncorrected = append(o.Uncorrected, findingOf(rep.Finding))
	}
	return o
}

// nextCheck is the soonest of: a throttled correction, a stalled Tenant's
// retry (its blocker may be a namespace the cache cannot see change), and
// the jittered periodic resync.
func (r *TenantReconciler) nextCheck(o status.Outcome, ex *execution) time.Duration {
	// A refused spec waits for a new spec, which brings its own event.
	if (len(o.Stalled) > 0 && !o.Halted) || len(o.Progressing) > 0 {
		ex.requeue(stalledRetry)
	}
	if r.Config.ResyncPeriod > 0 {
		ex.requeue(wait.Jitter(r.Config.ResyncPeriod, 0.1))
	}
	return ex.requeueAfter
}

// writeStatus computes the status from the pass's outcome and applies it
// (server-side, field manager tenantry, our conditions only) when it changed.
func (r *TenantReconciler) writeStatus(ctx context.Context, t *tenantryv1alpha1.Tenant, o status.Outcome, ex *execution) error {
	st := status.Compute(t.Status, t.Generation, o, metav1.NewTime(r.now()))
	recordTenantMetrics(t.Name, st)
	if equality.Semantic.DeepEqual(st, t.Status) {
		return nil
	}
	if wait := r.quotaUsageWait(t, st); wait > 0 {
		ex.requeue(wait)
		return nil
	}
	st.Conditions = status.OwnedConditions(st.Conditions)
	rvText, err := applyStatus(ctx, r.Client, "Tenant", t.Name, &st)
	if err != nil {
		return err
	}
	ex.writes++
	if r.Recorder != nil {
		for _, e := range status.Transitions(t.Status, st) {
			r.Recorder.Eventf(t, nil, e.EventType, e.Reason, "Reconcile", "%s", e.Note)
		}
	}
	if rv, err := strconv.ParseUint(rvText, 10, 64); err == nil {
		r.written.Store(t.Name, writtenStatus{at: r.now(), resourceVersion: rv, status: st})
	}
	return nil
}

// quotaUsageInterval is the least time between two status writes that
// change nothing but the tenant-wide quota usage (status.quotas[].used).
const quotaUsageInterval = 5 * time.Second

// quotaUsageWait is how long to hold back a status that differs from the
// current one only in quota usage: that moves with every pod the tenant
// creates, and a Tenant write per pod would cost more than the pods.
func (r *TenantReconciler) quotaUsageWait(t *tenantryv1alpha1.Tenant, st tenantryv1alpha1.TenantStatus) time.Duration {
	if len(st.Quotas) == 0 || len(st.Quotas) != len(t.Status.Quotas) {
		return 0
	}
	same := st.DeepCopy()
	for i := range same.Quotas {
		same.Quotas[i].Used = t.Status.Quotas[i].Used
	}
	if !equality.Semantic.DeepEqual(*same, t.Status) {
		return 0
	}
	v, ok := r.written.Load(t.Name)
	if !ok {
		return 0
	}
	return quotaUsageInterval - r.now().Sub(v.(writtenStatus).at)
}

func recordTenantMetrics(tenant string, st tenantryv1alpha1.TenantStatus) {
	ready := 0.0
	for _, c := range st.Conditions {
		if c.Type == tenantryv1alpha1.ConditionReady && c.Status == metav1.ConditionTrue {
			ready = 1
		}
	}
	metrics.TenantReady.WithLabelValues(tenant).Set(ready)
	metrics.ManagedObjects.WithLabelValues(tenant).Set(float64(st.ManagedObjects))
	metrics.RecordTenantQuotas(tenant, st.Quotas)
}

// applyStatus server-side applies the status of a cluster-scoped Tenantry
// object as field manager tenantry, and returns the resourceVersion it made.
func applyStatus(ctx context.Context, c client.Client, kind, name string, st any) (string, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(st)
	if err != nil {
		return "", err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": content}}
	u.SetGroupVersionKind(tenantryv1alpha1.GroupVersion.WithKind(kind))
	u.SetName(name)
	err = c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership)
	return u.GetResourceVersion(), err
}
