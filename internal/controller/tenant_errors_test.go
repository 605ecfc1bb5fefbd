package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestIsTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "namespaces"}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"503", apierrors.NewServiceUnavailable("etcd leader changed"), true},
		{"500", apierrors.NewInternalError(errors.New("boom")), true},
		{"504 server timeout", apierrors.NewServerTimeout(gr, "patch", 1), true},
		{"timeout", apierrors.NewTimeoutError("request timed out", 1), true},
		{"429", apierrors.NewTooManyRequests("slow down", 1), true},
		{"502 from a proxy", apierrors.NewGenericServerResponse(502, "patch", gr, "a", "bad gateway", 0, true), true},
		{"connection refused", &url.Error{Op: "Patch", URL: "https://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"connection reset", &url.Error{Op: "Get", URL: "https://x", Err: syscall.ECONNRESET}, true},
		{"unexpected EOF", &url.Error{Op: "Get", URL: "https://x", Err: io.ErrUnexpectedEOF}, true},
		{"client deadline", fmt.Errorf("apply: %w", context.DeadlineExceeded), true},
		{"forbidden", apierrors.NewForbidden(gr, "a", errors.New("no")), false},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Namespace"}, "a", nil), false},
		{"not found", apierrors.NewNotFound(gr, "a"), false},
		{"conflict", apierrors.NewConflict(gr, "a", errors.New("changed")), false},
		{"plain", errors.New("render: bad"), false},
	}
	for _, tc := range cases {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("%s: isTransient = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestShowError(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	transient := apierrors.NewServiceUnavailable("down")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "rolebindings"}, "a", errors.New("no"))
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ResourceQuota"}, "a", nil)
	if showError(nil, start, start.Add(time.Hour)) {
		t.Error("no error shown")
	}
	if showError(transient, start, start) || showError(transient, start, start.Add(transientErrorGrace-time.Second)) {
		t.Error("a transient error is shown before the grace period ends")
	}
	if !showError(transient, start, start.Add(transientErrorGrace)) {
		t.Error("a transient error is not shown once it has lasted the grace period")
	}
	if showError(forbidden, start, start.Add(time.Second)) {
		t.Error("a Forbidden (as from a restarting API server) is shown before the grace period ends")
	}
	if !showError(forbidden, start, start.Add(transientErrorGrace)) {
		t.Error("a persistent Forbidden is not shown")
	}
	if !showError(invalid, start, start) {
		t.Error("a request the API server refuses as sent is not shown at once")
	}
}

func TestFailureStreaks(t *testing.T) {
	var f failureStreaks
	t0 := time.Unix(100, 0)
	if got := f.failed("a", t0); !got.Equal(t0) {
		t.Fatalf("first failure: streak starts %v, want %v", got, t0)
	}
	if got := f.failed("a", t0.Add(time.Minute)); !got.Equal(t0) {
		t.Fatalf("second failure: streak starts %v, want %v", got, t0)
	}
	f.succeeded("a")
	if got := f.failed("a", t0.Add(2*time.Minute)); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("after success: streak starts %v, want a new one", got)
	}
}
