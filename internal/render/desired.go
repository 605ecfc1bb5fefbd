package render

import (
	"slices"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// ForbiddenClusterRoles returns, sorted, the ClusterRoles the Tenant asks to
// bind that are not in allowed.
func ForbiddenClusterRoles(t *tenantryv1alpha1.Tenant, opts Options, allowed []string) []string {
	var forbidden []string
	for _, role := range ClusterRoles(t, opts) {
		if !slices.Contains(allowed, role) {
			forbidden = append(forbidden, role)
		}
	}
	return forbidden
}

// Desired renders every object of a Tenant whose namespaces are all in place:
// namespaces first, then each namespace's children, then cluster RBAC. The
// controller renders namespace by namespace instead, so that one conflicting
// namespace does not hold back the others; this is the whole set, as used by
// tests and the benchmark's raw-apply floor.
func Desired(t *tenantryv1alpha1.Tenant, opts Options) []Object {
	var out []Object
	for _, ns := range t.Spec.Namespaces {
		out = append(out, Namespace(t, ns))
	}
	for _, ns := range t.Spec.Namespaces {
		out = append(out, Children(t, ns.Name, opts, true)...)
	}
	names := make([]string, 0, len(t.Spec.Namespaces))
	for _, ns := range t.Spec.Namespaces {
		names = append(names, ns.Name)
	}
	return append(out, ClusterRBAC(t, names)...)
}
