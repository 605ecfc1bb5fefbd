package controller

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/kinds"
)

// queue is the controller's workqueue as event handlers are handed it.
type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// watchOfObjects enqueues the Tenants that map (a managed child's or a
// namespace's event) names, marking them urgent when the event is someone
// else's change to what Tenantry owns: a deletion, a creation that is not
// the initial list, an update that moves the fields Tenantry owns (the slim
// copy's fingerprint), its tenant label or its deletion; and neither during
// the Tenant's own pass (its writes echo back then) nor a version the
// operator wrote or verified. Status updates (a quota's usage, a
// namespace's phase) are not urgent: they are not drift, and coming one per
// quota they would take the lane from drift and from new Tenants alike.
type watchOfObjects struct {
	r       *TenantReconciler
	tenants handler.MapFunc
}

func (w watchOfObjects) enqueue(ctx context.Context, obj client.Object, urgent bool, q queue) {
	w.enqueueAs(ctx, obj, urgent, false, q)
}

func (w watchOfObjects) enqueueAs(ctx context.Context, obj client.Object, urgent, deleted bool, q queue) {
	for _, req := range w.tenants(ctx, obj) {
		if urgent && w.r.foreignChange(req.Name, obj, deleted) {
			w.r.lanes.Mark(req)
		}
		q.Add(req)
	}
}

func (w watchOfObjects) Create(ctx context.Context, e event.CreateEvent, q queue) {
	w.enqueue(ctx, e.Object, !e.IsInInitialList, q)
}

func (w watchOfObjects) Update(ctx context.Context, e event.UpdateEvent, q queue) {
	// The old object's Tenant too: a relabelled child reaches both.
	w.enqueue(ctx, e.ObjectOld, false, q)
	if w.r.lanes != nil && w.r.shareEnforced(e.ObjectOld, e.ObjectNew) {
		// The quota controller now enforces a tenant-wide share, which its
		// Tenant may be waiting for (the owners' bindings, a grow): that
		// pass goes first, even when the event comes during a pass (the
		// one that follows is the waiting one).
		for _, req := range w.tenants(ctx, e.ObjectNew) {
			w.r.lanes.Mark(req)
		}
	}
	w.enqueue(ctx, e.ObjectNew, ownedChanged(e.ObjectOld, e.ObjectNew), q)
}

func (w watchOfObjects) Delete(ctx context.Context, e event.DeleteEvent, q queue) {
	w.enqueueAs(ctx, e.Object, true, true, q)
}

func (w watchOfObjects) Generic(ctx context.Context, e event.GenericEvent, q queue) {
	w.enqueue(ctx, e.Object, false, q)
}

// ownedChanged: an update moved what Tenantry owns of the object. Both are
// slim copies from the cache, whose fingerprint covers Tenantry's fields.
func ownedChanged(old, cur client.Object) bool {
	oldFP, _ := cache.Fingerprint(old)
	curFP, _ := cache.Fingerprint(cur)
	return oldFP != curFP ||
		old.GetLabels()[tenantryv1alpha1.TenantLabel] != cur.GetLabels()[tenantryv1alpha1.TenantLabel] ||
		!old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp())
}

// foreignChange: obj's event is not the operator's own doing, as far as
// it can tell without a read. The operator deletes only during a pass, so
// any other deletion is someone else's.
func (r *TenantReconciler) foreignChange(tenant string, obj client.Object, deleted bool) bool {
	if r.lanes == nil {
		return false
	}
	if _, busy := r.inFlight.Load(tenant); busy {
		return false
	}
	return deleted || !r.verified.Known(tenant, kinds.KeyOf(obj), obj.GetResourceVersion())
}
