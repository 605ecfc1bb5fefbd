package metrics

import (
	"net/http/httptest"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, url, contentType string
		verb, resource           string
		ok                       bool
	}{
		{"GET", "/api/v1/namespaces/a/resourcequotas/q", "", "get", "resourcequotas", true},
		{"GET", "/api/v1/namespaces/a/resourcequotas", "", "list", "resourcequotas", true},
		{"GET", "/api/v1/resourcequotas?watch=true&resourceVersion=5", "", "watch", "resourcequotas", true},
		{"GET", "/api/v1/namespaces/a", "", "get", "namespaces", true},
		{"GET", "/api/v1/namespaces?limit=500", "", "list", "namespaces", true},
		{"GET", "/apis/tenantry.io/v1alpha1/tenants/t", "", "get", "tenants", true},
		{"PATCH", "/apis/tenantry.io/v1alpha1/tenants/t/status", "application/apply-patch+yaml", "apply", "tenants/status", true},
		{"PATCH", "/apis/tenantry.io/v1alpha1/tenants/t", "application/merge-patch+json", "patch", "tenants", true},
		{"PUT", "/api/v1/namespaces/a/finalize", "", "update", "namespaces/finalize", true},
		{"GET", "/api/v1/namespaces/status/configmaps/c", "", "get", "configmaps", true},
		{"POST", "/api/v1/namespaces/a/events", "", "create", "events", true},
		{"DELETE", "/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings/b", "", "delete", "rolebindings", true},
		{"DELETE", "/api/v1/namespaces/a/pods", "", "deletecollection", "pods", true},
		{"GET", "/apis/tenantry.io/v1alpha1", "", "", "", false},
		{"GET", "/api", "", "", "", false},
		{"GET", "/healthz", "", "", "", false},
	} {
		req := httptest.NewRequest(tc.method, tc.url, nil)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		verb, resource, ok := Classify(req)
		if verb != tc.verb || resource != tc.resource || ok != tc.ok {
			t.Errorf("%s %s: got %q %q %v, want %q %q %v", tc.method, tc.url, verb, resource, ok, tc.verb, tc.resource, tc.ok)
		}
	}
}
