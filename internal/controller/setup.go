package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/lanes"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/render"
)

// indexSpecNamespace indexes Tenants by the namespaces their spec lists.
// (Managed objects have their own index, by tenant, in internal/cache.)
const indexSpecNamespace = "spec.namespaces.name"

// indexHostnameParent indexes Tenants by the domains their hostnames sit in
// (plan.HostnameParent): only hostnames in one domain can overlap.
const indexHostnameParent = "spec.workloads.hostnames.parent"

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
	r.limiter = ratelimit.New(r.Config.CorrectionBurst, r.Config.CorrectionInterval)
	r.lanes = lanes.New()

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
	// The TenantClass controller uses this index too.
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenantryv1alpha1.Tenant{}, indexSpecClass, func(o client.Object) []string {
		if class := o.(*tenantryv1alpha1.Tenant).Spec.Class; class != "" {
			return []string{class}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index tenants by class: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenantryv1alpha1.Tenant{}, indexHostnameParent, hostnameParents); err != nil {
		return fmt.Errorf("index tenants by hostname: %w", err)
	}
	if ns := r.Config.OperatorNamespace; ns != "" {
		var err error
		if r.grants, err = setupGrantTable(mgr, ns); err != nil {
			return fmt.Errorf("hostname grant table: %w", err)
		}
	} else {
		logf.FromContext(ctx).Info("No operator namespace: no hostname grant table, so Ingresses in tenant namespaces are refused")
	}

	b := ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		For(&tenantryv1alpha1.Tenant{}, builder.WithPredicates(tenantChanged)).
		Watches(&corev1.Namespace{}, watchOfObjects{r, r.tenantsForNamespace}).
		// A class's new spec, its creation (un-stalling ClassNotFound) or
		// deletion reaches every member.
		Watches(&tenantryv1alpha1.TenantClass{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfClass),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&tenantryv1alpha1.Tenant{}, handler.EnqueueRequestsFromMapFunc(r.tenantsSharingHostnames),
			builder.WithPredicates(hostnamesChanged)).
		// A claim's creation, new spec or deletion reaches the Tenant of the
		// namespace it is in; its status writes (the operator's) do not.
		Watches(&tenantryv1alpha1.NamespaceClaim{}, handler.EnqueueRequestsFromMapFunc(r.tenantOfClaim),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(1, r.Config.MaxConcurrentReconciles),
			// Per-Tenant retry backoff, capped at 30 s rather than the
			// default 1000 s, so that a Tenant that failed through an outage
			// is retried soon after it.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 30*time.Second),
			// Two FIFO lanes, repairs first (internal/lanes), rather than
			// controller-runtime's priority queue: with that, the Tenants
			// woken after an API server outage waited behind the relists'
			// events, and recovery took several times longer
			// (docs/reliability.md).
			NewQueue: lanes.NewWorkqueue(r.lanes),
		})
	// Children reach their Tenant through its label, not their owner
	// reference: the cache keeps no owner references, and resolving one
	// costs a REST mapping per event.
	for _, k := range kinds.Children() {
		if k.Name == kinds.ResourceQuota {
			b = b.Watches(k.New(), watchOfObjects{r, tenantOfObject},
				builder.WithPredicates(predicate.Funcs{UpdateFunc: r.quotaUpdateMatters}))
			continue
		}
		b = b.Watches(k.New(), watchOfObjects{r, tenantOfObject})
	}
	if err := mgr.Add(warmUp{}); err != nil {
		return err
	}
	if r.Health != nil {
		b = b.WatchesRawSource(source.Channel(r.Health.Wake(), &handler.TypedEnqueueRequestForObject[*tenantryv1alpha1.Tenant]{}))
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
// Cache and index reads only: handlers never call the API server, and
// read the cache's own copies (names only: no deep copy per event).
func (r *TenantReconciler) tenantsForNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if tenant := obj.GetLabels()[tenantryv1alpha1.TenantLabel]; tenant != "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: tenant}})
	}
	var tenants tenantryv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants, client.MatchingFields{indexSpecNamespace: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
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

// tenantOfClaim maps a NamespaceClaim event to the Tenant named in the
// label of the namespace it is in (the cached namespace: only labelled
// namespaces are cached, and only a tenant namespace holds claims).
func (r *TenantReconciler) tenantOfClaim(ctx context.Context, obj client.Object) []reconcile.Request {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: obj.GetNamespace()}, ns); err != nil {
		return nil
	}
	if tenant := ns.Labels[tenantryv1alpha1.TenantLabel]; tenant != "" {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: tenant}}}
	}
	return nil
}

// tenantsOfClass maps a TenantClass event to the Tenants naming it.
func (r *TenantReconciler) tenantsOfClass(ctx context.Context, obj client.Object) []reconcile.Request {
	var tenants tenantryv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants, client.MatchingFields{indexSpecClass: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Tenants by class", "class", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(tenants.Items))
	for _, t := range tenants.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
	}
	return reqs
}

func hostnameParents(o client.Object) []string {
	var out []string
	for _, h := range effective.Hostnames(&o.(*tenantryv1alpha1.Tenant).Spec) {
		if p := plan.HostnameParent(h); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// hostnamesChanged lets through what can change who holds a hostname: a
// Tenant with hostnames appearing or going, or its hostnames changing.
var hostnamesChanged = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return len(hostnameParents(e.Object)) > 0 },
	DeleteFunc:  func(e event.DeleteEvent) bool { return len(hostnameParents(e.Object)) > 0 },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !slices.Equal(effective.Hostnames(&e.ObjectOld.(*tenantryv1alpha1.Tenant).Spec), effective.Hostnames(&e.ObjectNew.(*tenantryv1alpha1.Tenant).Spec))
	},
}

// tenantsSharingHostnames maps a Tenant whose hostnames changed (called
// for the old and the new object) to the other Tenants asking for an
// overlapping one: which of them holds it may have changed.
func (r *TenantReconciler) tenantsSharingHostnames(ctx context.Context, obj client.Object) []reconcile.Request {
	changed := obj.(*tenantryv1alpha1.Tenant)
	theirs := effective.Hostnames(&changed.Spec)
	tenants, err := r.source().Tenants(ctx, theirs)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing Tenants by hostname", "tenant", changed.Name)
		return nil
	}
	var reqs []reconcile.Request
	for i := range tenants {
		t := &tenants[i]
		if t.Name != changed.Name && slices.ContainsFunc(effective.Hostnames(&t.Spec), func(h string) bool {
			return slices.ContainsFunc(theirs, func(o string) bool { return plan.HostnamesOverlap(h, o) })
		}) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
		}
	}
	return reqs
}

// quotaUpdateMatters drops the updates admission makes to a quota with every
// pod (only status.used moves) unless the quota is a share of a Tenant-scope
// item, whose usage decides where headroom goes: a Namespace-scope quota's
// usage is nothing Tenantry acts on, and a pass per pod costs CPU at scale.
func (r *TenantReconciler) quotaUpdateMatters(e event.UpdateEvent) bool {
	old, okOld := e.ObjectOld.(*corev1.ResourceQuota)
	cur, okNew := e.ObjectNew.(*corev1.ResourceQuota)
	if !okOld || !okNew || old.Generation != cur.Generation || // the slim copy's fingerprint
		!equality.Semantic.DeepEqual(old.Spec.Hard, cur.Spec.Hard) ||
		!equality.Semantic.DeepEqual(old.Status.Hard, cur.Status.Hard) ||
		!old.DeletionTimestamp.Equal(cur.DeletionTimestamp) ||
		old.Labels[tenantryv1alpha1.TenantLabel] != cur.Labels[tenantryv1alpha1.TenantLabel] {
		return true
	}
	share, known := r.tenantScopeShare(cur)
	return share || !known
}

// shareEnforced: the quota controller copied a new spec.hard of a
// tenant-wide share into status.hard, from which admission enforces it.
func (r *TenantReconciler) shareEnforced(oldObj, curObj client.Object) bool {
	old, okOld := oldObj.(*corev1.ResourceQuota)
	cur, okNew := curObj.(*corev1.ResourceQuota)
	if !okOld || !okNew || equality.Semantic.DeepEqual(old.Status.Hard, cur.Status.Hard) {
		return false
	}
	if share, _ := r.tenantScopeShare(cur); share {
		return true
	}
	// The quota controller can enforce a new share before the Tenant's
	// first status, which lists its tenant-wide items, is written.
	return r.specScope(cur) == tenantryv1alpha1.QuotaScopeTenant
}

// specScope is the scope the quota's item has in its Tenant's spec, class
// defaults merged in.
func (r *TenantReconciler) specScope(q *corev1.ResourceQuota) tenantryv1alpha1.QuotaScope {
	ctx := context.Background()
	tn := &tenantryv1alpha1.Tenant{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: q.Labels[tenantryv1alpha1.TenantLabel]}, tn); err != nil {
		return ""
	}
	quotas := tn.Spec.ResourceQuotas
	class := &tenantryv1alpha1.TenantClass{}
	if tn.Spec.Class != "" && r.Client.Get(ctx, client.ObjectKey{Name: tn.Spec.Class}, class) == nil {
		quotas = effective.Merge(class.Spec.Defaults, tn.Spec).ResourceQuotas
	}
	item := strings.TrimPrefix(q.Name, render.ChildPrefix)
	for _, rq := range quotas {
		if rq.Name == item {
			return rq.Scope
		}
	}
	return ""
}

// tenantScopeShare: q is a share of one of its Tenant's tenant-wide quota
// items (as the Tenant's cached status lists them); known is false when the
// Tenant could not be read.
func (r *TenantReconciler) tenantScopeShare(q *corev1.ResourceQuota) (share, known bool) {
	tn := &tenantryv1alpha1.Tenant{}
	if err := r.Client.Get(context.Background(), client.ObjectKey{Name: q.Labels[tenantryv1alpha1.TenantLabel]}, tn); err != nil {
		return false, false
	}
	item := strings.TrimPrefix(q.Name, render.ChildPrefix)
	return slices.ContainsFunc(tn.Status.Quotas, func(s tenantryv1alpha1.TenantQuotaStatus) bool { return s.Name == item }), true
}

// warmUp runs kinds.WarmExtract at start, beside the caches' sync and
// before leadership (a standby is ready when it takes over): not on the
// first repair's path.
type warmUp struct{}

func (warmUp) Start(context.Context) error { return kinds.WarmExtract() }

func (warmUp) NeedLeaderElection() bool { return false }
