package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/status"
)

// indexSpecClass indexes Tenants by the TenantClass they name.
const indexSpecClass = "spec.class"

// classStatusInterval bounds how often one class's status is written while
// its members' counts move (a rollout to thousands of Tenants).
const classStatusInterval = time.Second

// TenantClassReconciler keeps each TenantClass's status (the rollout to its
// members) and its finalizer: a class in use is not removed under its Tenants.
type TenantClassReconciler struct {
	Client client.Client
	now    func() time.Time
	// written is when each class's status was last written.
	written sync.Map // class name -> time.Time
}

// +kubebuilder:rbac:groups=tenantry.io,resources=tenantclasses,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenantclasses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=tenantry.io,resources=tenantclasses/finalizers,verbs=update

// Reconcile counts the class's members and writes its status and finalizer.
func (r *TenantClassReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &tenantryv1alpha1.TenantClass{}
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The cache's own copies, read only: a deep copy of every member per
	// recount was most of the operator's garbage while Tenants changed.
	var tenants tenantryv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants, client.MatchingFields{indexSpecClass: class.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, err
	}
	var members status.ClassMembers
	for i := range tenants.Items {
		members.CountMember(&tenants.Items[i], class.Generation)
	}
	deleting := !class.DeletionTimestamp.IsZero()
	switch {
	case deleting && members.Tenants == 0:
		return ctrl.Result{}, r.setFinalizer(ctx, class, false)
	case !deleting:
		if err := r.setFinalizer(ctx, class, true); err != nil {
			return ctrl.Result{}, err
		}
	}
	st := status.Class(class.Status, class.Generation, members, deleting, metav1.NewTime(r.now()))
	if equality.Semantic.DeepEqual(st, class.Status) {
		return ctrl.Result{}, nil
	}
	if v, ok := r.written.Load(class.Name); ok && members.Updated < members.Tenants {
		if wait := classStatusInterval - r.now().Sub(v.(time.Time)); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	return ctrl.Result{}, r.writeStatus(ctx, class, st)
}

// setFinalizer adds or removes tenantry.io/class-in-use, with an optimistic
// lock so no one else's finalizer is lost.
func (r *TenantClassReconciler) setFinalizer(ctx context.Context, class *tenantryv1alpha1.TenantClass, want bool) error {
	if controllerutil.ContainsFinalizer(class, tenantryv1alpha1.ClassFinalizer) == want {
		return nil
	}
	patch := client.MergeFromWithOptions(class.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if want {
		controllerutil.AddFinalizer(class, tenantryv1alpha1.ClassFinalizer)
	} else {
		controllerutil.RemoveFinalizer(class, tenantryv1alpha1.ClassFinalizer)
		logf.FromContext(ctx).Info("No Tenant names the class any more: finalizer removed")
	}
	return client.IgnoreNotFound(r.Client.Patch(ctx, class, patch))
}

func (r *TenantClassReconciler) writeStatus(ctx context.Context, class *tenantryv1alpha1.TenantClass, st tenantryv1alpha1.TenantClassStatus) error {
	if _, err := applyStatus(ctx, r.Client, "TenantClass", class.Name, &st); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.written.Store(class.Name, r.now())
	return nil
}

// SetupWithManager watches classes and, through spec.class, their members.
func (r *TenantClassReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.now == nil {
		r.now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("tenantclass").
		For(&tenantryv1alpha1.TenantClass{}, builder.WithPredicates(classChanged)).
		Watches(&tenantryv1alpha1.Tenant{}, classesOfTenant{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Complete(r)
}

// classChanged lets through class updates that ask for work: a new spec,
// deletion or finalizers. Its own status writes do not.
var classChanged = predicate.Or(
	predicate.GenerationChangedPredicate{},
	predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !equality.Semantic.DeepEqual(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers()) ||
			!e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp())
	}},
)

// classesOfTenant maps a Tenant event to the class it names, and on an
// update to the class it named before too (it left that class). The class
// is queued after classStatusInterval: its members' events collapse into
// one recount, so a rollout to thousands of Tenants costs a recount a
// second, not one per member event.
type classesOfTenant struct{}

func (classesOfTenant) add(q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
	for _, o := range objs {
		if t, ok := o.(*tenantryv1alpha1.Tenant); ok && t.Spec.Class != "" {
			q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Spec.Class}}, classStatusInterval)
		}
	}
}

func (c classesOfTenant) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	c.add(q, e.Object)
}

func (c classesOfTenant) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	c.add(q, e.ObjectOld, e.ObjectNew)
}

func (c classesOfTenant) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	c.add(q, e.Object)
}

func (classesOfTenant) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

var _ handler.EventHandler = classesOfTenant{}
