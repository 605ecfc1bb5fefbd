// Package controller holds the Tenant reconciler. One pass is gather → plan
// → execute → status: it gathers what is (internal/gather, through the
// cache), the pure planner decides what to do (internal/plan), the executor
// writes, and the status is computed by pure functions (internal/status) and
// written once, only when it changed.
package controller

import (
	"context"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/apihealth"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/lanes"
	"github.com/tenantry/tenantry/internal/metrics"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/ratelimit"
)

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
	Health *apihealth.Monitor

	limiter *ratelimit.Corrections
	now     func() time.Time
	// written remembers the last status written per Tenant, so that a pass
	// reading a Tenant the cache has not yet updated builds on that status
	// (and does not write it again).
	written sync.Map // tenant name -> writtenStatus
	// verified remembers object versions already found in sync.
	verified cache.Verified
	// failures holds each failing Tenant's streak of failed passes.
	failures apierr.Streaks
	// accepted remembers passthrough content the API server accepted.
	accepted acceptedContent
	// informers give the tenant index of the managed kinds.
	informers crcache.Informers
	// claims remembers the claim statuses last written.
	claims claimMemory
	// lanes orders the workqueue (repairs first); inFlight holds the
	// Tenants whose pass is running, whose events are mostly their echoes.
	lanes    *lanes.Queue
	inFlight sync.Map // tenant name -> struct{}
	// grants keeps the hostname grant table; nil without an operator namespace.
	grants *grantTableController
}

// writtenStatus is a status this controller wrote and the resourceVersion
// the write produced.
type writtenStatus struct {
	// at is when it was written.
	at              time.Time
	resourceVersion uint64
	status          tenantryv1alpha1.TenantStatus
}

// +kubebuilder:rbac:groups=tenantry.io,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups=tenantry.io,resources=namespaceclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenantry.io,resources=namespaceclaims/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin;edit;view
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Tenant's namespaces and objects to its spec.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if ok, wait := r.Health.Admit(req.Name); !ok {
		// A repair's start (lanes.Seen) waits for the pass that runs.
		logf.FromContext(ctx).V(1).Info("Parked while the API server is unreachable", "retryIn", wait)
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	var seen time.Time
	if r.lanes != nil {
		seen, _ = r.lanes.Seen(req)
	}
	r.inFlight.Store(req.Name, struct{}{})
	defer r.inFlight.Delete(req.Name)
	t := &tenantryv1alpha1.Tenant{}
	if err := r.getTenant(ctx, req.Name, t); err != nil {
		if apierrors.IsNotFound(err) {
			r.forgetTenant(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if t.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(t, tenantryv1alpha1.Finalizer) {
		// Finalizer first: it is in place before anything is created for
		// the Tenant; then the pass carries on.
		if err := r.addFinalizer(ctx, t); apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		} else if err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return r.pass(ctx, t, seen)
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

// forgetTenant drops everything the controller keeps per Tenant: the status
// it last wrote, its failure streak, its verified marks, the label maps of
// its cache copies, the claim statuses it wrote and its metric series. It runs whenever a Tenant is gone,
// whatever the route: its finalizer removed by the operator, or stripped by
// someone else.
func (r *TenantReconciler) forgetTenant(name string) {
	r.written.Delete(name)
	r.failures.Succeeded(name)
	r.verified.Forget(name)
	r.claims.forget(name)
	cache.Forget(name)
	metrics.ForgetTenant(name)
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

// effectiveOptions are the operator settings the desired state depends on.
func (r *TenantReconciler) effectiveOptions() effective.Options {
	return effective.Options{DefaultOwnerClusterRole: r.Config.DefaultOwnerClusterRole}
}

// planConfig are the operator settings that bound what a plan may do.
func (r *TenantReconciler) planConfig() plan.Config {
	return plan.Config{
		AllowedClusterRoles:        r.Config.AllowedClusterRoles,
		OperatorNamespace:          r.Config.OperatorNamespace,
		ProtectedNamespaces:        r.Config.ProtectedNamespaces,
		ProtectedNamespaceSelector: r.Config.ProtectedNamespaceSelector,
	}
}

// removeFinalizer lets a deleted Tenant go, once nothing of it is left to
// wait for, and forgets it.
func (r *TenantReconciler) removeFinalizer(ctx context.Context, t *tenantryv1alpha1.Tenant) error {
	if !controllerutil.ContainsFinalizer(t, tenantryv1alpha1.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(t, tenantryv1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, t, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	r.forgetTenant(t.Name)
	logf.FromContext(ctx).Info("Removed finalizer; Tenant released its namespaces")
	return nil
}
