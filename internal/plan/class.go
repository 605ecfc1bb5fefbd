package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/render"
)

// classProblem is why the Tenant's class keeps anything of its spec from
// being applied: the class is missing, or the Tenant crosses a constraint.
// claimed is how many claimed namespaces the Tenant already holds.
func classProblem(e *effective.Tenant, claimed int) (reason, message string) {
	switch {
	case e.Class == "":
		return "", ""
	case !e.ClassFound:
		return tenantryv1alpha1.ReasonClassNotFound, fmt.Sprintf(
			"TenantClass %s does not exist; nothing of this spec was applied or changed until it does", e.Class)
	}
	if v := ClassViolations(e, claimed); len(v) > 0 {
		return tenantryv1alpha1.ReasonClassConstraintViolated, strings.Join(v, "; ") + "; nothing of this spec was applied or changed"
	}
	return "", ""
}

// ClassViolations lists, field by field, where the effective spec crosses
// its class's constraints. claimed is how many claimed namespaces the
// Tenant holds: maxNamespaces bounds them with the spec's (new claims past
// the bound are refused one by one, see refusal).
func ClassViolations(e *effective.Tenant, claimed int) []string {
	c := e.Constraints
	if c == nil {
		return nil
	}
	var out []string
	add := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(format, args...)+" (TenantClass "+e.Class+")")
	}
	if n := len(e.Spec.Namespaces); c.MaxNamespaces != nil && n+claimed > int(*c.MaxNamespaces) {
		if claimed == 0 {
			add("spec.namespaces: %d namespaces, at most %d allowed by constraints.maxNamespaces", n, *c.MaxNamespaces)
		} else {
			add("spec.namespaces: %d namespaces plus %d claimed, at most %d allowed by constraints.maxNamespaces", n, claimed, *c.MaxNamespaces)
		}
	}
	if floor := c.PodSecurityFloor; floor != "" {
		check := func(field string, ps tenantryv1alpha1.PodSecurity) {
			if level(ps.Enforce) < level(floor) {
				add("%s: enforce %s is below constraints.podSecurityFloor %s", field, ps.Enforce, floor)
			}
		}
		check("spec.podSecurity", render.EffectivePodSecurity(e.Spec.PodSecurity, nil))
		for _, ns := range e.Spec.Namespaces {
			if ns.PodSecurity != nil && ns.PodSecurity.Enforce != "" {
				check("spec.namespaces["+ns.Name+"].podSecurity", render.EffectivePodSecurity(e.Spec.PodSecurity, ns.PodSecurity))
			}
		}
	}
	if allowed := c.AllowedClusterRoles; len(allowed) > 0 {
		check := func(field, role string) {
			if !slices.Contains(allowed, role) {
				add("%s: ClusterRole %s is not in constraints.allowedClusterRoles (%s)", field, role, strings.Join(allowed, ", "))
			}
		}
		check("spec.ownerClusterRole", e.Spec.OwnerClusterRole)
		for _, rb := range e.Spec.RoleBindings {
			check("spec.roleBindings["+rb.Name+"].clusterRole", rb.ClusterRole)
		}
	}
	for _, q := range e.Spec.ResourceQuotas {
		for _, res := range slices.Sorted(maps.Keys(c.MaxQuota)) {
			limit := c.MaxQuota[res]
			if hard, ok := q.Hard[res]; ok && hard.Cmp(limit) > 0 {
				add("spec.resourceQuotas[%s].hard[%s]: %s is above constraints.maxQuota %s", q.Name, res, hard.String(), limit.String())
			}
		}
	}
	return out
}

// level orders the Pod Security levels from weakest to strongest.
func level(l tenantryv1alpha1.PodSecurityLevel) int {
	return slices.Index([]tenantryv1alpha1.PodSecurityLevel{
		tenantryv1alpha1.PodSecurityPrivileged, tenantryv1alpha1.PodSecurityBaseline, tenantryv1alpha1.PodSecurityRestricted}, l)
}
