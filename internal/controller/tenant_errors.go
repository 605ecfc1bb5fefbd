package controller

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// transientErrorGrace is how long a streak of transient API errors is only
// retried (with the workqueue's backoff) before it is shown in the Tenant's
// conditions. A blip — a 503 during an API server rollout, a timeout, a
// dropped connection — must not flip Ready or put error text in a message.
const transientErrorGrace = time.Minute

// isTransient says whether an API error is likely to go away on retry
// without anyone changing anything: server-side 5xx, throttling, timeouts
// and dropped or refused connections. Forbidden, Invalid or NotFound are not:
// they need a person (or a spec change) and are shown at once.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || utilnet.IsConnectionRefused(err) ||
		utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// showError decides whether a pass's error goes into the status: at once
// for errors no retry can heal (the API server refuses what was sent), and
// otherwise only once the streak of failures has lasted transientErrorGrace.
// That covers transient errors, and also Forbidden or NotFound, which a
// restarting API server (RBAC caches not yet filled) or a race can return
// for a moment; if they persist they are shown.
func showError(err error, streakStart, now time.Time) bool {
	if err == nil {
		return false
	}
	return refusedAsSent(err) || now.Sub(streakStart) >= transientErrorGrace
}

// refusedAsSent: the request itself is wrong; sending it again fails again.
func refusedAsSent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsMethodNotSupported(err) ||
		apierrors.IsNotAcceptable(err) || apierrors.IsUnsupportedMediaType(err) || apierrors.IsRequestEntityTooLargeError(err)
}

// failureStreaks remembers, per Tenant, when its current run of failed
// passes began; a successful pass ends the run.
type failureStreaks struct {
	m sync.Map // tenant name -> time.Time
}

// failed records a failed pass at now and returns when the streak began.
func (f *failureStreaks) failed(name string, now time.Time) time.Time {
	v, _ := f.m.LoadOrStore(name, now)
	return v.(time.Time)
}

// succeeded ends the Tenant's streak.
func (f *failureStreaks) succeeded(name string) { f.m.Delete(name) }

// objectErrors joins the refusals of single objects in one pass, sorted so
// that the condition message does not flap. It unwraps to each of them, so
// that apierrors' predicates see the API server's answers.
func objectErrors(errs []error) error {
	sorted := slices.Clone(errs)
	slices.SortFunc(sorted, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return joinedErrors(sorted)
}

type joinedErrors []error

func (j joinedErrors) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joinedErrors) Unwrap() []error { return j }
