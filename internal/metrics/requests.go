package metrics

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// APIRequests counts the operator's requests by the verb and resource the
// API server sees. client-go's own rest_client_requests_total has neither:
// its method GET is a read of one object, a LIST and a WATCH alike, and a
// read past the cache is what a quiet operator must not make.
var APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tenantry_api_requests_total",
	Help: "Requests the operator sent to the API server, by verb (get, list, watch, create, update, patch, apply, delete, deletecollection) and resource.",
}, []string{"verb", "resource"})

func init() { crmetrics.Registry.MustRegister(APIRequests) }

// CountRequests wraps a transport so that every request is counted in
// APIRequests (for rest.Config.Wrap).
func CountRequests(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if verb, resource, ok := Classify(req); ok {
			APIRequests.WithLabelValues(verb, resource).Inc()
		}
		return rt.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Classify names a request's verb and resource the way the API server's
// request info does (a subresource as resource/subresource); ok is false
// for paths that name no resource (discovery, /healthz).
func Classify(req *http.Request) (verb, resource string, ok bool) {
	parts := resourcePath(req.URL.Path)
	if len(parts) == 0 {
		return "", "", false
	}
	// namespaces/{ns}/{resource}[/{name}[/{sub}]], or {resource}[/{name}[/{sub}]];
	// a namespace's own subresources are namespaces/{name}/{status,finalize}.
	if parts[0] == "namespaces" && len(parts) >= 3 && parts[2] != "status" && parts[2] != "finalize" {
		parts = parts[2:]
	}
	resource = parts[0]
	named := len(parts) >= 2
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch") {
			verb = "apply"
		}
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		return "", "", false
	}
	return verb, resource, true
}

// resourcePath is the part of an API path after /api/v1 or
// /apis/{group}/{version}; nil for any other path.
func resourcePath(path string) []string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) > 2 && parts[0] == "api":
		return parts[2:]
	case len(parts) > 3 && parts[0] == "apis":
		return parts[3:]
	}
	return nil
}
