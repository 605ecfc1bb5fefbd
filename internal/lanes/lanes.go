// Package lanes is the storage under the Tenant controller's workqueue:
// repairs first. It is pure (no API server), so its test runs in
// `make test-unit`; the event handlers that decide what is urgent stay in
// internal/controller.
package lanes

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tenantry/tenantry/internal/metrics"
)

// Queue orders the Tenant workqueue in two FIFO lanes: Tenants with a
// change someone else made to their objects (drift, a squatted name) are
// reconciled before those waiting for their own new spec, a class rollout
// or a resync. Without it a repair waited behind every changing Tenant.
//
// It is the storage under client-go's workqueue (workqueue.Queue), which
// keeps deduplication, one pass per Tenant at a time, delays, rate limits
// and metrics as they are; the workqueue calls Push, Touch, Pop and Len
// under its own lock. Which Tenants are urgent is said by Mark, from event
// handlers, outside that lock; a mark is used by the next Push or Touch of
// the Tenant and dropped when it is popped (the pass that follows sees the
// change: handlers run after the cache holds it). The time of the first
// mark goes with the item to its pass (Seen), which times the repair.
//
// The urgent lane cannot starve the other: after urgentRun urgent items in
// a row, a waiting ordinary one goes next. (A tenant's pods move its
// tenant-wide quota's usage, someone else's change too, and many tenants'
// pods could otherwise keep the urgent lane full.)
type Queue struct {
	urgent, normal []reconcile.Request
	// where is the lane each queued item is in; an entry of a lane that
	// disagrees is stale (the item was moved) and skipped.
	where map[reconcile.Request]bool // true: urgent
	// run counts the urgent items popped since the last ordinary one.
	run int

	mu sync.Mutex
	// marked holds when each marked item was first marked; seen the same
	// for the items popped, until their pass takes it.
	marked, seen map[reconcile.Request]time.Time
	now          func() time.Time
}

// New is an empty Queue.
func New() *Queue {
	return &Queue{where: map[reconcile.Request]bool{}, marked: map[reconcile.Request]time.Time{},
		seen: map[reconcile.Request]time.Time{}, now: time.Now}
}

// Mark says that item's next reconcile is urgent.
func (l *Queue) Mark(item reconcile.Request) {
	l.mu.Lock()
	if _, ok := l.marked[item]; !ok {
		l.marked[item] = l.now()
	}
	l.mu.Unlock()
}

func (l *Queue) isMarked(item reconcile.Request) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.marked[item]
	return ok
}

// popped drops item's mark, keeping its time for the pass (Seen), and
// reports how long it waited since.
func (l *Queue) popped(item reconcile.Request) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.marked[item]
	if !ok {
		return 0, false
	}
	delete(l.marked, item)
	if _, kept := l.seen[item]; !kept { // a parked pass's, still the earliest
		l.seen[item] = at
	}
	return l.now().Sub(at), true
}

// Seen is when the change that made item's current pass urgent was seen,
// and false for a pass nobody marked. It is taken once, by the pass.
func (l *Queue) Seen(item reconcile.Request) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.seen[item]
	delete(l.seen, item)
	return at, ok
}

// Push queues a new item, in the urgent lane when it is marked.
func (l *Queue) Push(item reconcile.Request) {
	if l.isMarked(item) {
		l.urgent = append(l.urgent, item)
		l.where[item] = true
		return
	}
	l.normal = append(l.normal, item)
	l.where[item] = false
}

// Touch is an item added again while it waits: a marked one moves up.
func (l *Queue) Touch(item reconcile.Request) {
	if urgent, queued := l.where[item]; queued && !urgent && l.isMarked(item) {
		l.urgent = append(l.urgent, item)
		l.where[item] = true
	}
}

func (l *Queue) Len() int { return len(l.where) }

// urgentRun is how many urgent items may go before a waiting ordinary one.
const urgentRun = 8

// Pop takes the oldest urgent item, else the oldest other one (and one of
// those after urgentRun urgent ones). The workqueue calls it only when Len
// is not 0.
func (l *Queue) Pop() reconcile.Request {
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
				if waited, marked := l.popped(item); marked {
					metrics.RepairWait.Observe(waited.Seconds())
				}
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
func (l *Queue) runAfterUrgent() int {
	if len(l.normal) == 0 {
		return 0
	}
	return l.run + 1
}

// NewWorkqueue is the controller's queue: client-go's rate-limited
// workqueue over l.
func NewWorkqueue(l *Queue) func(string, workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		base := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[reconcile.Request]{Name: name, Queue: l})
		delaying := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[reconcile.Request]{Name: name, Queue: base})
		return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Name: name, DelayingQueue: delaying})
	}
}
