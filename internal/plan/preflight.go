package plan

import (
	"k8s.io/apimachinery/pkg/api/meta"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// NeedsPreflight: the API server has not yet accepted this spec's
// passthrough content (Passthrough), so it is dry-run before anything of it
// is applied. A spec applied successfully is not checked again.
func NeedsPreflight(e *effective.Tenant, st tenantryv1alpha1.TenantStatus) bool {
	return !e.Observed(st) || refusedBefore(st)
}

// refusedBefore: the last pass stalled on this generation's spec being refused.
func refusedBefore(st tenantryv1alpha1.TenantStatus) bool {
	c := meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionStalled)
	return c != nil && c.Reason == tenantryv1alpha1.ReasonInvalidSpec
}

// Passthrough are the children of one namespace whose content the spec
// passes through unchecked by the CRD (ResourceQuota hard limits and scopes,
// LimitRange items, extra NetworkPolicies): only the API server can say
// whether it accepts them. They are the same in every namespace.
func Passthrough(e *effective.Tenant) []render.Object {
	if len(e.Spec.Namespaces) == 0 {
		return nil
	}
	var out []render.Object
	for _, d := range render.Children(e, e.Spec.Namespaces[0].Name, false) {
		if IsPassthrough(d) {
			out = append(out, d)
		}
	}
	return out
}

// IsPassthrough: the object's content is the spec's, unchecked by the CRD.
func IsPassthrough(d render.Object) bool {
	return d.Kind == kinds.ResourceQuota || d.Kind == kinds.LimitRange ||
		d.Kind == kinds.NetworkPolicy && d.Name != render.IsolationPolicy
}
