// Package apihealth knows whether the API server answers, from every
// response and transport error the operator's client sees, and parks
// reconciles while it does not.
package apihealth

import (
	"net/http"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
)

// Monitor knows whether the API server answers, from every response and
// transport error the operator's client sees (reconciles, informers, leader
// election). While it does not, reconciles are parked instead of retried
// one by one — with a thousand Tenants, per-item backoff alone would still
// send tens of requests a second into a dead endpoint — and a single probe
// reconcile goes out every probeInterval. The first answer from the server
// wakes every parked Tenant at once, so recovery does not wait for backoff
// that grew during the outage, and every other Tenant too (listed from the
// API server), so it does not wait for informers to relist either.
type Monitor struct {
	mu        sync.Mutex
	down      bool
	downSince time.Time
	nextProbe time.Time
	parked    map[string]struct{}
	wake      chan event.TypedGenericEvent[*tenantryv1alpha1.Tenant]
	// recovered signals the end of an outage: informers may have missed
	// events and relist only after their own backoff (up to a minute).
	recovered chan struct{}
	now       func() time.Time
}

// probeInterval is how often a parked operator lets one reconcile through.
const probeInterval = 5 * time.Second

// New returns a monitor that believes the server is up.
func New() *Monitor {
	return &Monitor{
		parked:    map[string]struct{}{},
		wake:      make(chan event.TypedGenericEvent[*tenantryv1alpha1.Tenant], 1024),
		recovered: make(chan struct{}, 1),
		now:       time.Now,
	}
}

// Wrap observes a client transport: any HTTP response means the server is
// up; a connection-level error means it may be down.
func (h *Monitor) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		switch {
		case err == nil && resp.StatusCode != http.StatusServiceUnavailable:
			h.up()
		case err != nil && req.Context().Err() == nil && apierr.IsTransient(err):
			h.unreachable()
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (h *Monitor) unreachable() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		now := h.now()
		h.down, h.downSince, h.nextProbe = true, now, now.Add(probeInterval)
	}
}

func (h *Monitor) up() {
	h.mu.Lock()
	if !h.down {
		h.mu.Unlock()
		return
	}
	h.down = false
	parked := h.parked
	h.parked = map[string]struct{}{}
	// A blip (one reset connection) loses no watch events; an outage long
	// enough for informers to fall into their relist backoff may.
	outage := h.now().Sub(h.downSince) >= probeInterval
	h.mu.Unlock()
	for name := range parked {
		select {
		case h.wake <- WakeEvent(name):
		default: // full: its own requeue brings it back
		}
	}
	if !outage {
		return
	}
	select {
	case h.recovered <- struct{}{}:
	default: // already signalled
	}
}

// WakeEvent is the event that wakes the named Tenant.
func WakeEvent(name string) event.TypedGenericEvent[*tenantryv1alpha1.Tenant] {
	return event.TypedGenericEvent[*tenantryv1alpha1.Tenant]{Object: &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}}
}

// Admit says whether a reconcile of the Tenant may talk to the API server
// now. When not, the Tenant is parked and wait says when to look again
// (it is also woken when the server answers).
func (h *Monitor) Admit(name string) (ok bool, wait time.Duration) {
	if h == nil {
		return true, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return true, 0
	}
	now := h.now()
	if !now.Before(h.nextProbe) {
		h.nextProbe = now.Add(probeInterval) // this reconcile is the probe
		return true, 0
	}
	h.parked[name] = struct{}{}
	return false, h.nextProbe.Sub(now) + probeInterval
}

// Down says whether the API server is believed unreachable.
func (h *Monitor) Down() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// Wake is the channel of events that wake parked Tenants (a watch source).
func (h *Monitor) Wake() chan event.TypedGenericEvent[*tenantryv1alpha1.Tenant] { return h.wake }

// Recovered signals the end of an outage long enough for watches to have
// missed events.
func (h *Monitor) Recovered() <-chan struct{} { return h.recovered }
