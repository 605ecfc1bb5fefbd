// Package apierr classifies the API server's answers: what a retry may heal,
// what it never will, and several refusals reported as one error.
package apierr

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// IsTransient says whether an API error is likely to go away on retry
// without anyone changing anything: server-side 5xx, throttling, timeouts
// and dropped or refused connections. Forbidden, Invalid or NotFound are not:
// they need a person (or a spec change) and are shown at once.
func IsTransient(err error) bool {
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

// RefusedAsSent: the request itself is wrong; sending it again fails again.
func RefusedAsSent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsMethodNotSupported(err) ||
		apierrors.IsNotAcceptable(err) || apierrors.IsUnsupportedMediaType(err) || apierrors.IsRequestEntityTooLargeError(err)
}

// Join joins the refusals of single objects in one pass, sorted so
// that the condition message does not flap. It unwraps to each of them, so
// that apierrors' predicates see the API server's answers.
func Join(errs []error) error {
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

// RefusalMessage is the API server's list of causes, without the
// "<Kind> <name> is invalid:" preamble that names the object sent.
func RefusalMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if details := status.Status().Details; details != nil && len(details.Causes) > 0 {
			parts := make([]string, 0, len(details.Causes))
			for _, c := range details.Causes {
				parts = append(parts, c.Field+": "+c.Message)
			}
			return strings.Join(parts, ", ")
		}
	}
	return err.Error()
}

// IsImmutable: the API server refuses the apply because it would change
// a field that cannot change once set (a binding's roleRef).
func IsImmutable(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if strings.Contains(c.Message, "immutable") || strings.Contains(c.Message, "cannot change") {
			return true
		}
	}
	return false
}
