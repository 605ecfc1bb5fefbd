package lanes

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func req(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: client.ObjectKey{Name: name}}
}

// TestLanes drives the lanes through client-go's workqueue, as the
// controller does: marked Tenants come first, each lane in order, and the
// workqueue's guarantees (no duplicates, one pass per Tenant) hold.
func TestLanes(t *testing.T) {
	l := New()
	q := NewWorkqueue(l)("test", workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Millisecond, time.Second))
	defer q.ShutDown()
	get := func() string {
		t.Helper()
		item, shutdown := q.Get()
		if shutdown {
			t.Fatal("queue shut down")
		}
		q.Done(item)
		return item.Name
	}
	for _, n := range []string{"a", "b", "c"} {
		q.Add(req(n))
	}
	l.Mark(req("d"))
	q.Add(req("d")) // new and marked: urgent
	l.Mark(req("b"))
	q.Add(req("b")) // waiting, now marked: moves up, once
	q.Add(req("a")) // waiting, not marked: stays
	if q.Len() != 4 {
		t.Fatalf("Len = %d, want 4 (no duplicates)", q.Len())
	}
	var order []string
	for range 4 {
		order = append(order, get())
	}
	if got, want := order, []string{"d", "b", "a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after draining: a stale entry counted", q.Len())
	}

	// Marked while its pass runs: the pass that follows is urgent.
	q.Add(req("x"))
	q.Add(req("y"))
	item, _ := q.Get() // x, in flight
	l.Mark(req("x"))
	q.Add(req("x"))
	if q.Len() != 1 {
		t.Fatalf("Len = %d: an item in flight was queued twice", q.Len())
	}
	q.Done(item)
	if got := get(); got != "x" {
		t.Fatalf("got %s, want x (marked during its pass) before y", got)
	}
	if got := get(); got != "y" {
		t.Fatalf("got %s, want y", got)
	}

	// A mark is used up by the pass it brought forward.
	l.Mark(req("z"))
	q.Add(req("z"))
	_ = get()
	q.Add(req("w"))
	q.Add(req("z"))
	if got := get(); got != "w" {
		t.Fatalf("got %s, want w: z's mark outlived its pass", got)
	}
	_ = get()

	// A full urgent lane lets an ordinary item through after urgentRun.
	q.Add(req("ordinary"))
	for i := range 2 * urgentRun {
		r := req(fmt.Sprint("urgent-", i))
		l.Mark(r)
		q.Add(r)
	}
	for i := range urgentRun {
		if got := get(); got != fmt.Sprint("urgent-", i) {
			t.Fatalf("pop %d: got %s, want urgent-%d", i, got, i)
		}
	}
	if got := get(); got != "ordinary" {
		t.Fatalf("got %s after %d urgent items, want the ordinary one", got, urgentRun)
	}
	for i := urgentRun; i < 2*urgentRun; i++ {
		if got := get(); got != fmt.Sprint("urgent-", i) {
			t.Fatalf("got %s, want urgent-%d", got, i)
		}
	}
}

// TestSeen: the pass an urgent item brings forward learns when its first
// mark was made (later marks before the pass do not move it), once; a pass
// nobody marked learns nothing.
func TestSeen(t *testing.T) {
	l := New()
	clock := time.Unix(1000, 0)
	l.now = func() time.Time { return clock }
	q := NewWorkqueue(l)("test", workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Millisecond, time.Second))
	defer q.ShutDown()

	l.Mark(req("a"))
	first := clock
	q.Add(req("a"))
	clock = clock.Add(time.Second)
	l.Mark(req("a"))
	q.Add(req("a"))
	q.Add(req("b"))
	for _, want := range []string{"a", "b"} {
		item, _ := q.Get()
		if item.Name != want {
			t.Fatalf("got %s, want %s", item.Name, want)
		}
		at, ok := l.Seen(item)
		switch {
		case want == "a" && (!ok || !at.Equal(first)):
			t.Fatalf("Seen(a) = %v, %v; want the first mark's time %v", at, ok, first)
		case want == "b" && ok:
			t.Fatalf("Seen(b) = %v for an item nobody marked", at)
		}
		if _, again := l.Seen(item); again {
			t.Fatalf("Seen(%s) answered twice", want)
		}
		q.Done(item)
	}
	if len(l.seen) != 0 || len(l.marked) != 0 {
		t.Fatalf("left behind: seen %v, marked %v", l.seen, l.marked)
	}

	// A pass that did not take its time (parked during an outage) leaves it
	// for the next, which keeps it even when marked again meanwhile.
	l.Mark(req("c"))
	parked := clock
	q.Add(req("c"))
	item, _ := q.Get()
	q.Done(item)
	clock = clock.Add(time.Second)
	l.Mark(req("c"))
	q.Add(req("c"))
	item, _ = q.Get()
	if at, ok := l.Seen(item); !ok || !at.Equal(parked) {
		t.Fatalf("Seen(c) = %v, %v after a parked pass; want the first time %v", at, ok, parked)
	}
	q.Done(item)
}
