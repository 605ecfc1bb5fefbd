package controller

import (
	"context"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/metrics"
)

// lanes orders the Tenant workqueue in two FIFO lanes: Tenants with a
// change someone else made to their objects (drift, a squatted name) are
// reconciled before those waiting for their own new spec, a class rollout
// or a resync. Without it a repair waited behind every changing Tenant.
//
// It is the storage under client-go's workqueue (workqueue.Queue), which
// keeps deduplication, one pass per Tenant at a time, delays, rate limits
// and metrics as they are; the workqueue calls Push, Touch, Pop and Len
// under its own lock. Which Tenants are urgent is said by mark, from event
// handlers, outside that lock; a mark is used by the next Push or Touch of
// the Tenant and dropped when it is popped (the pass that follows sees the
// change: handlers run after the cache holds it).
//
// The urgent lane cannot starve the other: after urgentRun urgent items in
// a row, a waiting ordinary one goes next. (A tenant's pods move its
// tenant-wide quota's usage, someone else's change too, and many tenants'
// pods could otherwise keep the urgent lane full.)
type lanes struct {
	urgent, normal []reconcile.Request
	// where is the lane each queued item is in; an entry of a lane that
	// disagrees is stale (the item was moved) and skipped.
	where map[reconcile.Request]bool // true: urgent
	// run counts the urgent items popped since the last ordinary one.
	run int

	mu     sync.Mutex
	marked map[reconcile.Request]struct{}
}

func newLanes() *lanes {
	return &lanes{where: map[reconcile.Request]bool{}, marked: map[reconcile.Request]struct{}{}}
}

// mark says that item's next reconcile is urgent.
func (l *lanes) mark(item reconcile.Request) {
	l.mu.Lock()
	l.marked[item] = struct{}{}
	l.mu.Unlock()
}

func (l *lanes) isMarked(item reconcile.Request, drop bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.marked[item]
	if drop {
		delete(l.marked, item)
	}
	return ok
}

// Push queues a new item, in the urgent lane when it is marked.
func (l *lanes) Push(item reconcile.Request) {
	if l.isMarked(item, false) {
		l.urgent = append(l.urgent, item)
		l.where[item] = true
		return
	}
	l.normal = append(l.normal, item)
	l.where[item] = false
}

// Touch is an item added again while it waits: a marked one moves up.
func (l *lanes) Touch(item reconcile.Request) {
	if urgent, queued := l.where[item]; queued && !urgent && l.isMarked(item, false) {
		l.urgent = append(l.urgent, item)
		l.where[item] = true
	}
}

func (l *lanes) Len() int { return len(l.where) }

// urgentRun is how many urgent items may go before a waiting ordinary one.
const urgentRun = 8

// Pop takes the oldest urgent item, else the oldest other one (and one of
// those after urgentRun urgent ones). The workqueue calls it only when Len
// is not 0.
func (l *lanes) Pop() reconcile.Request {
	order := []bool{true, false}
	if l.run >= urgentRun {
		order = []bool{false, true}
	}
	for _, urgent := range order {
		lane := &l.normal
		if urgent {
			lane = &l.urgent
		}
		for len(*lane) > 0 {
			item := (*lane)[0]
			(*lane)[0] = reconcile.Request{}
			*lane = (*lane)[1:]
			if u, queued := l.where[item]; queued && u == urgent {
				delete(l.where, item)
				l.isMarked(item, true)
				if urgent {
					l.run = l.runAfterUrgent()
					metrics.UrgentReconciles.Inc()
				} else {
					l.run = 0
				}
				return item
			}
		}
	}
	return reconcile.Request{}
}

// runAfterUrgent is the run after one more urgent item; a run counts only
// while ordinary items wait.
func (l *lanes) runAfterUrgent() int {
	if len(l.normal) == 0 {
		return 0
	}
	return l.run + 1
}

// newLaneQueue is the controller's queue: client-go's rate-limited
// workqueue over lanes.
func newLaneQueue(l *lanes) func(string, workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		base := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[reconcile.Request]{Name: name, Queue: l})
		delaying := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[reconcile.Request]{Name: name, Queue: base})
		return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Name: name, DelayingQueue: delaying})
	}
}

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
			w.r.lanes.mark(req)
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
			w.r.lanes.mark(req)
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
