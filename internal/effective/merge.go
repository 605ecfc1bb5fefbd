package effective

import (
	"maps"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Merge returns spec over a class's defaults: a field the Tenant sets wins;
// list items keyed by name (resourceQuotas, roleBindings,
// networkPolicy.policies) merge by name, the Tenant's item winning; label and
// annotation maps merge by key; Pod Security modes merge one by one;
// selfService takes deletionPolicy from the class when the Tenant sets none.
// Other lists are taken whole from whichever sets them, the Tenant first.
// Pure: neither argument is modified.
func Merge(defaults tenantryv1alpha1.TenantDefaults, spec tenantryv1alpha1.TenantSpec) tenantryv1alpha1.TenantSpec {
	d := defaults.DeepCopy()
	out := *spec.DeepCopy()
	out.OwnerClusterRole = first(out.OwnerClusterRole, d.OwnerClusterRole)
	out.RoleBindings = byName(d.RoleBindings, out.RoleBindings, func(b tenantryv1alpha1.TenantRoleBinding) string { return b.Name })
	out.ResourceQuotas = byName(d.ResourceQuotas, out.ResourceQuotas, func(q tenantryv1alpha1.TenantResourceQuota) string { return q.Name })
	out.NamespaceMetadata = mergeMetadata(d.NamespaceMetadata, out.NamespaceMetadata)
	out.PodSecurity = mergePodSecurity(d.PodSecurity, out.PodSecurity)
	if out.LimitRange == nil {
		out.LimitRange = d.LimitRange
	}
	out.NetworkPolicy = mergeNetworkPolicy(d.NetworkPolicy, out.NetworkPolicy)
	out.DeletionPolicy = first(out.DeletionPolicy, d.DeletionPolicy)
	out.AdoptionPolicy = first(out.AdoptionPolicy, d.AdoptionPolicy)
	out.DriftPolicy = first(out.DriftPolicy, d.DriftPolicy)
	out.Workloads = mergeWorkloads(d.Workloads, out.Workloads)
	out.SelfService = mergeSelfService(d.SelfService, out.SelfService)
	return out
}

// mergeSelfService: maxNamespaces is required in a Tenant's selfService, so
// the Tenant's always wins (0 is a Tenant opting out); namePrefix is the
// Tenant's only (the CRD refuses it in a class, and no two members may
// share one).
func mergeSelfService(d, t *tenantryv1alpha1.SelfService) *tenantryv1alpha1.SelfService {
	switch {
	case d == nil:
		return t
	case t == nil:
		out := *d
		out.NamePrefix = ""
		return &out
	}
	out := *t
	out.DeletionPolicy = first(t.DeletionPolicy, d.DeletionPolicy)
	return &out
}

// mergeWorkloads takes each guardrail list from the Tenant when it sets it,
// else from the class; node selector entries merge by key. Hostnames are
// the Tenant's only: the CRD refuses them in a class.
func mergeWorkloads(d, t *tenantryv1alpha1.Workloads) *tenantryv1alpha1.Workloads {
	if d == nil {
		return t
	}
	out := &tenantryv1alpha1.Workloads{}
	if t != nil {
		out = t.DeepCopy()
	}
	orElse := func(tenant, class []tenantryv1alpha1.ClassName) []tenantryv1alpha1.ClassName {
		if len(tenant) > 0 {
			return tenant
		}
		return class
	}
	if len(out.Registries) == 0 {
		out.Registries = d.Registries
	}
	out.ImagePullPolicy = first(out.ImagePullPolicy, d.ImagePullPolicy)
	out.StorageClasses = orElse(out.StorageClasses, d.StorageClasses)
	out.PriorityClasses = orElse(out.PriorityClasses, d.PriorityClasses)
	out.RuntimeClasses = orElse(out.RuntimeClasses, d.RuntimeClasses)
	out.IngressClasses = orElse(out.IngressClasses, d.IngressClasses)
	if len(out.ServiceTypes) == 0 {
		out.ServiceTypes = d.ServiceTypes
	}
	if len(out.Tolerations) == 0 {
		out.Tolerations = d.Tolerations
	}
	if len(d.NodeSelector) > 0 {
		selector := maps.Clone(d.NodeSelector)
		maps.Copy(selector, out.NodeSelector)
		out.NodeSelector = selector
	}
	return out
}

// first is the Tenant's value when set, else the default.
func first[T comparable](tenant, def T) T {
	var zero T
	if tenant != zero {
		return tenant
	}
	return def
}

// byName merges two lists keyed by name: the defaults' items in their order,
// each replaced by the Tenant's item of the same name, then the Tenant's
// other items in theirs.
func byName[T any](defaults, tenant []T, name func(T) string) []T {
	if len(defaults) == 0 {
		return tenant
	}
	own := map[string]T{}
	for _, item := range tenant {
		own[name(item)] = item
	}
	out := make([]T, 0, len(defaults)+len(tenant))
	inDefaults := map[string]bool{}
	for _, item := range defaults {
		inDefaults[name(item)] = true
		if mine, ok := own[name(item)]; ok {
			item = mine
		}
		out = append(out, item)
	}
	for _, item := range tenant {
		if !inDefaults[name(item)] {
			out = append(out, item)
		}
	}
	return out
}

func mergeMetadata(d, t *tenantryv1alpha1.NamespaceMetadata) *tenantryv1alpha1.NamespaceMetadata {
	if d == nil || t == nil {
		return first(t, d)
	}
	out := &tenantryv1alpha1.NamespaceMetadata{Labels: maps.Clone(d.Labels), Annotations: maps.Clone(d.Annotations)}
	if t.Labels != nil && out.Labels == nil {
		out.Labels = map[string]tenantryv1alpha1.LabelValue{}
	}
	maps.Copy(out.Labels, t.Labels)
	if t.Annotations != nil && out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	maps.Copy(out.Annotations, t.Annotations)
	return out
}

func mergePodSecurity(d, t *tenantryv1alpha1.PodSecurity) *tenantryv1alpha1.PodSecurity {
	if d == nil || t == nil {
		return first(t, d)
	}
	return &tenantryv1alpha1.PodSecurity{
		Enforce:        first(t.Enforce, d.Enforce),
		EnforceVersion: first(t.EnforceVersion, d.EnforceVersion),
		Audit:          first(t.Audit, d.Audit),
		Warn:           first(t.Warn, d.Warn),
	}
}

func mergeNetworkPolicy(d, t *tenantryv1alpha1.TenantNetworkPolicy) *tenantryv1alpha1.TenantNetworkPolicy {
	if d == nil || t == nil {
		return first(t, d)
	}
	out := t.DeepCopy()
	out.Isolation = first(t.Isolation, d.Isolation)
	out.Egress = first(t.Egress, d.Egress)
	if out.AllowIngressFrom == nil {
		out.AllowIngressFrom = d.AllowIngressFrom
	}
	if out.AllowEgressTo == nil {
		out.AllowEgressTo = d.AllowEgressTo
	}
	out.Policies = byName(d.Policies, t.Policies, func(p tenantryv1alpha1.TenantExtraNetworkPolicy) string { return p.Name })
	return out
}
