package apierr

import (
	"sync"
	"time"
)

// TransientErrorGrace is how long a streak of transient API errors is only
// retried (with the workqueue's backoff) before it is shown in the Tenant's
// conditions. A blip — a 503 during an API server rollout, a timeout, a
// dropped connection — must not flip Ready or put error text in a message.
const TransientErrorGrace = time.Minute

// Show decides whether a pass's error goes into the status: at once
// for errors no retry can heal (the API server refuses what was sent), and
// otherwise only once the streak of failures has lasted TransientErrorGrace.
// That covers transient errors, and also Forbidden or NotFound, which a
// restarting API server (RBAC caches not yet filled) or a race can return
// for a moment; if they persist they are shown.
func Show(err error, streakStart, now time.Time) bool {
	if err == nil {
		return false
	}
	return RefusedAsSent(err) || now.Sub(streakStart) >= TransientErrorGrace
}

// Streaks remembers, per Tenant, when its current run of failed
// passes began; a successful pass ends the run.
type Streaks struct {
	m sync.Map // tenant name -> time.Time
}

// Failed records a failed pass at now and returns when the streak began.
func (f *Streaks) Failed(name string, now time.Time) time.Time {
	v, _ := f.m.LoadOrStore(name, now)
	return v.(time.Time)
}

// Succeeded ends the Tenant's streak.
func (f *Streaks) Succeeded(name string) { f.m.Delete(name) }

// Failing says whether the Tenant is in a streak.
func (f *Streaks) Failing(name string) bool {
	_, ok := f.m.Load(name)
	return ok
}
