package apierr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("%s: IsTransient = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestJoin(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, "b",
		field.ErrorList{field.Invalid(field.NewPath("roleRef"), "x", "cannot change roleRef")})
	err := Join([]error{errors.New("z failed"), invalid})
	if !strings.HasPrefix(err.Error(), "RoleBinding.rbac.authorization.k8s.io \"b\" is invalid") || !strings.HasSuffix(err.Error(), "; z failed") {
		t.Fatalf("sorted, one line: %q", err.Error())
	}
	if !apierrors.IsInvalid(err) {
		t.Fatal("the API server's answers must be seen through the join")
	}
	if got := RefusalMessage(invalid); got != "roleRef: Invalid value: \"x\": cannot change roleRef" {
		t.Fatalf("RefusalMessage = %q", got)
	}
}

func TestIsImmutable(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, "b",
		field.ErrorList{field.Invalid(field.NewPath("roleRef"), "x", "cannot change roleRef")})
	if !IsImmutable(invalid) || !IsImmutable(Join([]error{invalid})) || IsImmutable(errors.New("cannot change")) {
		t.Fatal("IsImmutable must see the API server's answer, and only it")
	}
}
