// Package controller holds the Tenant reconciler: a list of small phases over
// a scope, compare-before-apply for every managed object, and status computed
// by pure functions and written once per pass.
package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// indexSpecNamespace indexes Tenants by the namespaces their spec lists.
// (Managed objects have their own index, tenantIndex in cache.go.)
const indexSpecNamespace = "spec.namespaces.name"

// Config is the operator-wide configuration of the reconciler.
type Config struct {
	// AllowedClusterRoles are the ClusterRoles Tenants may bind.
	AllowedClusterRoles []string
	// DefaultOwnerClusterRole is bound to owners when a Tenant names none.
	DefaultOwnerClusterRole string
	// ResyncPeriod is how often (jittered) every Tenant is re-checked for drift
	// watches could have missed; 0 disables it.
	ResyncPeriod time.Duration
	// MaxConcurrentReconciles is the number of Tenants reconciled in parallel.
	MaxConcurrentReconciles int
	// OperatorNamespace is the operator's own namespace, never a tenant's.
	OperatorNamespace string
	// ProtectedNamespaces and ProtectedNamespaceSelector name more
	// namespaces that can never be tenant namespaces.
	ProtectedNamespaces        []string
	ProtectedNamespaceSelector labels.Selector
	// CorrectionBurst and CorrectionInterval bound drift corrections per object.
	CorrectionBurst    int
	CorrectionInterval time.Duration
}

// TenantReconciler reconciles Tenants.
type TenantReconciler struct {
	// Client reads from the label-filtered cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server directly; used only for objects the
	// cache cannot show (unlabelled namespaces, suspected drift).
	APIReader client.Reader
	// Recorder emits Kubernetes Events on Tenants.
	Recorder events.EventRecorder
	Config   Config
	// Health parks reconciles while the API server is unreachable; it must
	// wrap the transport of Client's REST config. Nil disables parking.
	Health *APIHealth

	limiter *correctionLimiter
	now     func() time.Time
	// written remembers the last status written per Tenant, so that a pass
	// reading a Tenant the cache has not yet updated builds on that status
	// (and does not write it again).
	written sync.Map // tenant name -> writtenStatus
	// verified remembers object versions already found in sync.
	verified verifiedObjects
	// failures holds each failing Tenant's streak of failed passes.
	failures failureStreaks
	// accepted remembers passthrough content the API server accepted.
	accepted acceptedContent
	// informers give the tenant index of the managed kinds (tenantObjects).
	informers cache.Informers
}

// writtenStatus is a status this controller wrote and the resourceVersion
// the write produced.
type writtenStatus struct {
	resourceVersion uint64
	status          tenantryv1alpha1.TenantStatus
}

// +kubebuilder:rbac:groups=tenantry.io,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin;edit;view
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Tenant's namespaces and objects to its spec.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if ok, wait := r.Health.admit(req.Name); !ok {
		logf.FromContext(ctx).V(1).Info("Parked while the API server is unreachable", "retryIn", wait)
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	t := &tenantryv1alpha1.Tenant{}
	if err := r.getTenant(ctx, req.Name, t); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetTenant(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !t.DeletionTimestamp.IsZero() {
		return r.run(ctx, r.newScope(t), r.deletePhases())
	}
	if !controllerutil.ContainsFinalizer(t, tenantryv1alpha1.Finalizer) {
		// Finalizer first: it is in place before anything is created for
		// the Tenant; then the pass carries on.
		if err := r.addFinalizer(ctx, t); apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		} else if err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if !t.DeletionTimestamp.IsZero() { // seen on the fresh read
			return r.run(ctx, r.newScope(t), r.deletePhases())
		}
	}
	return r.run(ctx, r.newScope(t), r.normalPhases())
}

// addFinalizer adds the finalizer with an optimistic lock (so no one else's
// finalizer is lost). On a conflict it tries once more on a fresh read: the
// cache can lag far behind — informers relist on their own backoff after an
// API server outage — and retrying on the cached version would conflict
// until it caught up.
func (r *TenantReconciler) addFinalizer(ctx context.Context, t *tenantryv1alpha1.Tenant) error {
	for attempt := 0; ; attempt++ {
		patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(t, tenantryv1alpha1.Finalizer)
		err := r.Client.Patch(ctx, t, patch)
		if !apierrors.IsConflict(err) || attempt > 0 {
			return err
		}
		fresh := &tenantryv1alpha1.Tenant{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(t), fresh); err != nil {
			return err
		}
		*t = *fresh
		if controllerutil.ContainsFinalizer(t, tenantryv1alpha1.Finalizer) {
			return nil
		}
	}
}

// run executes phases in order, stopping at the first error, then writes
// status once (only if it changed) and decides when to come back.
func (r *TenantReconciler) run(ctx context.Context, s *scope, phases []phase) (ctrl.Result, error) {
	var err error
	for _, p := range phases {
		if err = p(ctx, s); err != nil {
			break
		}
	}
	if errors.Is(err, errHalt) {
		err = nil
	}
	if err == nil && len(s.failed) > 0 {
		err = objectErrors(s.failed)
	}
	if apierrors.IsConflict(err) {
		// Someone else moved the object on; a fresh pass sorts it out. A 409
		// never reaches a condition message.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if s.finalized {
		return ctrl.Result{}, err
	}
	if err == nil {
		r.failures.succeeded(s.tenant.Name)
	} else if now := r.now(); !showError(err, r.failures.failed(s.tenant.Name, now), now) {
		// A transient error, not yet persistent: retry with backoff and leave
		// the status as it was, so conditions do not flap with error text.
		return ctrl.Result{}, err
	}
	s.outcome.err = err
	if statusErr := r.patchStatus(ctx, s); statusErr != nil && err == nil {
		if apierrors.IsConflict(statusErr) || apierrors.IsNotFound(statusErr) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		err = statusErr
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	logf.FromContext(ctx).V(1).Info("Reconciled Tenant", "writes", s.writes, "managedObjects", s.outcome.managed)
	return ctrl.Result{RequeueAfter: r.nextCheck(s)}, nil
}

// nextCheck is the soonest of: a throttled correction, a stalled Tenant's
// retry (its blocker may be a namespace the cache cannot see change), and
// the jittered periodic resync.
func (r *TenantReconciler) nextCheck(s *scope) time.Duration {
	// A refused spec waits for a new spec, which brings its own event.
	if (len(s.outcome.stalled) > 0 && !s.outcome.halted) || len(s.outcome.progressing) > 0 {
		s.requeue(stalledRetry)
	}
	if r.Config.ResyncPeriod > 0 {
		s.requeue(wait.Jitter(r.Config.ResyncPeriod, 0.1))
	}
	return s.requeueAfter
}

// stalledRetry is how often a Stalled or waiting Tenant is re-checked.
const stalledRetry = time.Minute

// patchStatus computes the status from what the pass observed and applies it
// (server-side, field manager tenantry, our conditions only) when it changed.
func (r *TenantReconciler) patchStatus(ctx context.Context, s *scope) error {
	t := s.tenant
	s.outcome.inventory = inventoryList(s.inventory)
	st := computeStatus(t.Status, t.Generation, s.outcome, metav1.NewTime(r.now()))
	recordTenantMetrics(t.Name, st)
	if equality.Semantic.DeepEqual(st, t.Status) {
		return nil
	}
	st.Conditions = ownedStatusConditions(st.Conditions)
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": content}}
	u.SetGroupVersionKind(tenantryv1alpha1.GroupVersion.WithKind("Tenant"))
	u.SetName(t.Name)
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return err
	}
	s.writes++
	if r.Recorder != nil {
		for _, e := range transitions(t.Status, st) {
			r.Recorder.Eventf(t, nil, e.eventType, e.reason, "Reconcile", "%s", e.note)
		}
	}
	if rv, err := strconv.ParseUint(u.GetResourceVersion(), 10, 64); err == nil {
		r.written.Store(t.Name, writtenStatus{resourceVersion: rv, status: st})
	}
	return nil
}

// getTenant reads a Tenant from the cache and, when the cache does not have
// it, from the API server: after an outage the informer may not have seen
// a new Tenant yet (it relists on its own backoff), and a deleted one costs
// just this read.
func (r *TenantReconciler) getTenant(ctx context.Context, name string, t *tenantryv1alpha1.Tenant) error {
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, t)
	if !apierrors.IsNotFound(err) {
		return err
	}
	return r.APIReader.Get(ctx, client.ObjectKey{Name: name}, t)
}

// requeueAfterOutage enqueues every Tenant, listed from the API server, each
// time the API server answers again after an outage.
func (r *TenantReconciler) requeueAfterOutage(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.Health.recovered:
		}
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(tenantryv1alpha1.GroupVersion.WithKind("TenantList"))
		// A restarted API server refuses requests (Forbidden) until its
		// RBAC caches are filled: retry for a while.
		err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			return r.APIReader.List(ctx, list) == nil, nil
		})
		if err != nil {
			logf.FromContext(ctx).Error(err, "Listing Tenants after an API server outage")
			continue
		}
		for _, item := range list.Items {
			select {
			case r.Health.wake <- wakeEvent(item.Name):
			case <-ctx.Done():
				return nil
			}
		}
		logf.FromContext(ctx).Info("API server answers again: every Tenant requeued", "tenants", len(list.Items))
	}
}

// forgetTenant drops everything the controller keeps per Tenant: the status
// it last wrote, its failure streak, its verified marks, the label maps of
// its cache copies and its metric series. It runs whenever a Tenant is gone,
// whatever the route: its finalizer removed by the operator, or stripped by
// someone else.
func (r *TenantReconciler) forgetTenant(name string) {
	r.written.Delete(name)
	r.failures.succeeded(name)
	r.verified.forget(name)
	slimLabels.forget(name)
	forgetTenantMetrics(name)
}

// useLatestStatus puts back the status this controller last wrote when the
// cache has not caught up with that write yet, so that counters, drift
// records and the next status build on the latest status, not a stale one.
func (r *TenantReconciler) useLatestStatus(t *tenantryv1alpha1.Tenant) {
	v, ok := r.written.Load(t.Name)
	if !ok {
		return
	}
	w := v.(writtenStatus)
	cached, err := strconv.ParseUint(t.ResourceVersion, 10, 64)
	if err != nil || cached >= w.resourceVersion {
		return
	}
	t.Status = *w.status.DeepCopy()
}

func recordTenantMetrics(tenant string, st tenantryv1alpha1.TenantStatus) {
	ready := 0.0
	for _, c := range st.Conditions {
		if c.Type == tenantryv1alpha1.ConditionReady && c.Status == metav1.ConditionTrue {
			ready = 1
		}
	}
	tenantReady.WithLabelValues(tenant).Set(ready)
	managedObjects.WithLabelValues(tenant).Set(float64(st.ManagedObjects))
}

// TenantLabelSelector selects every object Tenantry manages. The manager's
// cache holds only such objects, so memory follows tenants, not cluster size.
func TenantLabelSelector() labels.Selector {
	req, err := labels.NewRequirement(tenantryv1alpha1.TenantLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant, valid key
	}
	return labels.NewSelector().Add(*req)
}

// SetupWithManager registers indexes and watches: Tenants, every child kind
// by its tenant label, and namespaces by label and by the Tenants listing them.
func (r *TenantReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.now == nil {
		r.now = time.Now
	}
	if r.Config.CorrectionBurst <= 0 {
		r.Config.CorrectionBurst = 5
	}
	if r.Config.CorrectionInterval <= 0 {
		r.Config.CorrectionInterval = 10 * time.Second
	}
	r.limiter = newCorrectionLimiter(r.Config.CorrectionBurst, r.Config.CorrectionInterval)

	r.informers = mgr.GetCache()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenantryv1alpha1.Tenant{}, indexSpecNamespace, func(o client.Object) []string {
		t := o.(*tenantryv1alpha1.Tenant)
		names := make([]string, 0, len(t.Spec.Namespaces))
		for _, ns := range t.Spec.Namespaces {
			names = append(names, ns.Name)
		}
		return names
	}); err != nil {
		return fmt.Errorf("index tenants by namespace: %w", err)
	}

	b := ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		For(&tenantryv1alpha1.Tenant{}, builder.WithPredicates(tenantChanged)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForNamespace)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(1, r.Config.MaxConcurrentReconciles),
			// Per-Tenant retry backoff, capped at 30 s rather than the
			// default 1000 s, so that a Tenant that failed through an outage
			// is retried soon after it.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 30*time.Second),
			// The classic queue: with controller-runtime's priority queue the
			// Tenants woken after an API server outage waited behind the
			// relists' events, and recovery never took less than 43 s; with
			// this one it takes 6 s (docs/reliability.md).
			UsePriorityQueue: ptr.To(false),
		})
	// Children reach their Tenant through its label, not their owner
	// reference: the cache keeps no owner references, and resolving one
	// costs a REST mapping per event.
	for _, obj := range managedTypes()[1:] {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(tenantOfObject))
	}
	if r.Health != nil {
		b = b.WatchesRawSource(source.Channel(r.Health.wake, &handler.TypedEnqueueRequestForObject[*tenantryv1alpha1.Tenant]{}))
		if err := mgr.Add(manager.RunnableFunc(r.requeueAfterOutage)); err != nil {
			return err
		}
	}
	return b.Complete(r)
}

// tenantChanged lets through Tenant updates that ask for work: a new spec
// (generation), deletion, finalizers or annotations. Status writes do not.
var tenantChanged = predicate.Or(
	predicate.GenerationChangedPredicate{},
	predicate.AnnotationChangedPredicate{},
	predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !equality.Semantic.DeepEqual(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers()) ||
			!e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp())
	}},
)

// tenantOfObject maps an event of a managed child to the Tenant named in its
// label. An update is mapped for the old and the new object, so a child
// relabelled to another tenant reaches both; one that loses the label still
// arrives: the watch reports it deleted, with its last labelled state.
func tenantOfObject(_ context.Context, obj client.Object) []reconcile.Request {
	if tenant := obj.GetLabels()[tenantryv1alpha1.TenantLabel]; tenant != "" {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: tenant}}}
	}
	return nil
}

// tenantsForNamespace maps a namespace event to the Tenant named in its label
// and to every Tenant whose spec lists it (a conflict may have cleared).
// Cache and index reads only: handlers never call the API server.
func (r *TenantReconciler) tenantsForNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if tenant := obj.GetLabels()[tenantryv1alpha1.TenantLabel]; tenant != "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: tenant}})
	}
	var tenants tenantryv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants, client.MatchingFields{indexSpecNamespace: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Tenants by namespace", "namespace", obj.GetName())
		return reqs
	}
	for _, t := range tenants.Items {
		if t.Name != obj.GetLabels()[tenantryv1alpha1.TenantLabel] {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
		}
	}
	return reqs
}

// renderOptions are the operator settings rendering needs.
func (r *TenantReconciler) renderOptions() render.Options {
	return render.Options{DefaultOwnerClusterRole: r.Config.DefaultOwnerClusterRole}
}
