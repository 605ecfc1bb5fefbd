package apihealth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

func TestAPIHealthParksAndWakes(t *testing.T) {
	h := New()
	now := time.Unix(1000, 0)
	h.now = func() time.Time { return now }
	var fail bool
	rt := h.Wrap(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if fail {
			return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
		}
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}))
	call := func() {
		req, _ := http.NewRequest(http.MethodGet, "https://api/healthz", nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
		}
	}

	if ok, _ := h.Admit("a"); !ok {
		t.Fatal("parked while the server answers")
	}
	fail = true
	call()
	if !h.Down() {
		t.Fatal("a refused connection does not mark the server down")
	}
	if ok, wait := h.Admit("a"); ok || wait <= 0 {
		t.Fatalf("admit while down = %v, %s; want parked with a wait", ok, wait)
	}
	if ok, _ := h.Admit("b"); ok {
		t.Fatal("b admitted before the probe is due")
	}
	now = now.Add(probeInterval)
	if ok, _ := h.Admit("c"); !ok {
		t.Fatal("no probe let through once due")
	}
	if ok, _ := h.Admit("d"); ok {
		t.Fatal("two probes in one interval")
	}

	fail = false
	call()
	if h.Down() {
		t.Fatal("an answer does not mark the server up")
	}
	woken := map[string]bool{}
	for len(h.wake) > 0 {
		woken[(<-h.wake).Object.Name] = true
	}
	for _, name := range []string{"a", "b", "d"} {
		if !woken[name] {
			t.Errorf("parked %s not woken; woken: %v", name, woken)
		}
	}
	if ok, _ := h.Admit("a"); !ok {
		t.Fatal("parked after recovery")
	}
	if len(h.recovered) != 1 {
		t.Fatal("an outage of a probe interval does not requeue every Tenant")
	}
	<-h.recovered

	// A blip: one reset connection, answered again at once.
	fail = true
	call()
	fail = false
	call()
	if h.Down() || len(h.recovered) != 0 {
		t.Fatalf("a blip: down %v, full requeue signalled %v", h.Down(), len(h.recovered) != 0)
	}
}

func TestAPIHealthIgnoresCallerDeadline(t *testing.T) {
	h := New()
	rt := h.Wrap(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return nil, req.Context().Err()
	}))
	// The caller's own deadline passed: the server is not to blame.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api/", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	if h.Down() {
		t.Fatal("a request its caller cancelled marks the server down")
	}
}
