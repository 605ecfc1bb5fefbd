package controller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// faultMarker is in the text of every injected failure.
const faultMarker = "injected fault"

// faultInjector fails a fraction of the operator's requests (never watches,
// which fail as broken streams instead): 503, 500 and 504 responses,
// connection resets, and 409 Conflict on writes.
type faultInjector struct {
	rate     float64
	mu       sync.Mutex
	rnd      *rand.Rand
	injected atomic.Int64
}

func (f *faultInjector) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Query().Get("watch") == "true" {
			return rt.RoundTrip(req)
		}
		f.mu.Lock()
		hit, kind := f.rnd.Float64() < f.rate, f.rnd.IntN(5)
		f.mu.Unlock()
		if !hit {
			return rt.RoundTrip(req)
		}
		f.injected.Add(1)
		switch {
		case kind == 0:
			return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: fmt.Errorf("%s: %w", faultMarker, syscall.ECONNRESET)}
		case kind == 1 && req.Method != http.MethodGet:
			return statusResponse(req, http.StatusConflict, metav1.StatusReasonConflict), nil
		case kind == 2:
			return statusResponse(req, http.StatusInternalServerError, metav1.StatusReasonInternalError), nil
		case kind == 3:
			return statusResponse(req, http.StatusGatewayTimeout, metav1.StatusReasonTimeout), nil
		default:
			return statusResponse(req, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable), nil
		}
	})
}

// statusResponse is an API server error response.
func statusResponse(req *http.Request, code int, reason metav1.StatusReason) *http.Response {
	body := fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s (%d)","reason":"%s","code":%d}`,
		faultMarker, code, reason, code)
	return &http.Response{
		StatusCode: code, Status: http.StatusText(code), Request: req,
		Header: http.Header{"Content-Type": []string{"application/json"}},
		Body:   io.NopCloser(bytes.NewBufferString(body)),
	}
}

// TestTransientFaultsConvergeWithoutFlapping: with 10% of its requests
// failing (5xx, timeouts, resets, conflicts), the operator still makes every
// Tenant Ready, and no condition ever shows the error text: transient
// errors are retried, not reported, and Ready never goes back to False.
func TestTransientFaultsConvergeWithoutFlapping(t *testing.T) {
	faults := &faultInjector{rate: 0.1, rnd: rand.New(rand.NewPCG(3, 5))}
	operator.stop()
	operator = startOperatorWith(Config{}, faults.wrap)
	defer func() {
		operator.stop()
		operator = startOperator(Config{})
	}()

	const n = 12
	var names []string
	run := time.Now().UnixMilli() % 100000 // namespaces of earlier runs are retained: new names
	for i := range n {
		tn := fullTenant(fmt.Sprintf("fault-%d-%d", run, i))
		createTenant(t, tn)
		names = append(names, tn.Name)
	}
	created := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var seen []string // every condition message observed, with its Tenant
	wasReady := map[string]bool{}
	for {
		var list tenantryv1alpha1.TenantList
		if err := k8s.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, tn := range list.Items {
			if !strings.HasPrefix(tn.Name, fmt.Sprintf("fault-%d-", run)) {
				continue
			}
			for _, c := range tn.Status.Conditions {
				seen = append(seen, tn.Name+" "+c.Type+"/"+c.Reason+": "+c.Message)
				if c.Type != tenantryv1alpha1.ConditionReady {
					continue
				}
				switch {
				case c.Status == metav1.ConditionTrue && tn.Status.ObservedGeneration == tn.Generation:
					wasReady[tn.Name] = true
					ready++
				case wasReady[tn.Name]:
					t.Errorf("%s went from Ready to %s/%s: %s", tn.Name, c.Status, c.Reason, c.Message)
				}
			}
		}
		if ready == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d Tenants Ready with faults injected", ready, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range seen {
		if strings.Contains(s, faultMarker) || strings.Contains(s, tenantryv1alpha1.ReasonReconcileError) {
			t.Fatalf("a transient error reached a condition: %s", s)
		}
	}
	if faults.injected.Load() < 20 {
		t.Fatalf("only %d faults injected: the test proves little", faults.injected.Load())
	}
	t.Logf("%d Tenants Ready %s after creation with %d injected faults; %d condition observations, none with error text",
		n, time.Since(created).Round(10*time.Millisecond), faults.injected.Load(), len(seen))
	// Deletion goes through the same faults.
	start := time.Now()
	for _, name := range names {
		if err := k8s.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		for {
			err := k8s.Get(ctx, client.ObjectKey{Name: name}, &tenantryv1alpha1.Tenant{})
			if apierrors.IsNotFound(err) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("Tenant %s not finalized with faults injected", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("all %d deleted %s later, faults still injected", n, time.Since(start).Round(10*time.Millisecond))
}
