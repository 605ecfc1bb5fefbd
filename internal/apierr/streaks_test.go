package apierr

import (
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestShowError(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	transient := apierrors.NewServiceUnavailable("down")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "rolebindings"}, "a", errors.New("no"))
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ResourceQuota"}, "a", nil)
	if Show(nil, start, start.Add(time.Hour)) {
		t.Error("no error shown")
	}
	if Show(transient, start, start) || Show(transient, start, start.Add(TransientErrorGrace-time.Second)) {
		t.Error("a transient error is shown before the grace period ends")
	}
	if !Show(transient, start, start.Add(TransientErrorGrace)) {
		t.Error("a transient error is not shown once it has lasted the grace period")
	}
	if Show(forbidden, start, start.Add(time.Second)) {
		t.Error("a Forbidden (as from a restarting API server) is shown before the grace period ends")
	}
	if !Show(forbidden, start, start.Add(TransientErrorGrace)) {
		t.Error("a persistent Forbidden is not shown")
	}
	if !Show(invalid, start, start) {
		t.Error("a request the API server refuses as sent is not shown at once")
	}
}

func TestFailureStreaks(t *testing.T) {
	var f Streaks
	t0 := time.Unix(100, 0)
	if got := f.Failed("a", t0); !got.Equal(t0) {
		t.Fatalf("first failure: streak starts %v, want %v", got, t0)
	}
	if got := f.Failed("a", t0.Add(time.Minute)); !got.Equal(t0) {
		t.Fatalf("second failure: streak starts %v, want %v", got, t0)
	}
	if !f.Failing("a") || f.Failing("b") {
		t.Fatal("Failing")
	}
	f.Succeeded("a")
	if f.Failing("a") {
		t.Fatal("a success ends the streak")
	}
	if got := f.Failed("a", t0.Add(2*time.Minute)); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("after success: streak starts %v, want a new one", got)
	}
}
