package render

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
)

// The server fills in defaults inside lists that are atomic (owned whole by
// the applier). Rendering them in already keeps the applied value equal to the
// stored one, so compare-before-apply sees no difference where there is none.

// Children renders the namespaced objects of one tenant namespace, in a fixed
// order: quotas, limit range, role bindings, network policies. Role bindings
// are left out when bindRoles is false (a ClusterRole is not allowed).
func Children(t *effective.Tenant, namespace string, bindRoles bool) []Object {
	var out []Object
	for _, q := range t.Spec.ResourceQuotas {
		out = append(out, resourceQuota(t, namespace, q))
	}
	if t.Spec.LimitRange != nil {
		out = append(out, limitRange(t, namespace, t.Spec.LimitRange))
	}
	if bindRoles {
		out = append(out, roleBinding(t, namespace, OwnerBindingName, t.Spec.OwnerClusterRole, t.Spec.Owners))
		for _, b := range t.Spec.RoleBindings {
			out = append(out, roleBinding(t, namespace, ChildPrefix+b.Name, b.ClusterRole, b.Subjects))
		}
	}
	if np := isolationPolicy(t, namespace); np != nil {
		out = append(out, *np)
	}
	if t.Spec.NetworkPolicy != nil {
		for _, p := range t.Spec.NetworkPolicy.Policies {
			out = append(out, networkPolicy(t, namespace, ChildPrefix+p.Name, p.Spec))
		}
	}
	return out
}

func resourceQuota(t *effective.Tenant, namespace string, q tenantryv1alpha1.TenantResourceQuota) Object {
	return ResourceQuota(t, namespace, q, q.Hard)
}

// ResourceQuota renders quota item q in namespace with the given hard
// limits: the item's own, or for a Tenant-scope item the namespace's share.
func ResourceQuota(t *effective.Tenant, namespace string, q tenantryv1alpha1.TenantResourceQuota, hard corev1.ResourceList) Object {
	name := ChildPrefix + q.Name
	spec := corev1ac.ResourceQuotaSpec().WithHard(copyResourceList(hard)).WithScopes(q.Scopes...)
	if q.ScopeSelector != nil && len(q.ScopeSelector.MatchExpressions) > 0 {
		spec.WithScopeSelector(convert[corev1ac.ScopeSelectorApplyConfiguration](q.ScopeSelector))
	}
	ac := corev1ac.ResourceQuota(name, namespace).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithSpec(spec)
	return Object{Kind: kinds.ResourceQuota, Namespace: namespace, Name: name, Apply: ac}
}

func limitRange(t *effective.Tenant, namespace string, lr *tenantryv1alpha1.TenantLimitRange) Object {
	spec := corev1ac.LimitRangeSpec()
	for i := range lr.Limits {
		item := defaultLimitRangeItem(lr.Limits[i])
		spec.WithLimits(convert[corev1ac.LimitRangeItemApplyConfiguration](&item))
	}
	ac := corev1ac.LimitRange(LimitRangeName, namespace).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithSpec(spec)
	return Object{Kind: kinds.LimitRange, Namespace: namespace, Name: LimitRangeName, Apply: ac}
}

// defaultLimitRangeItem applies the API server's defaulting of container
// limits: default limit from max, default request from the default limit,
// else from min.
func defaultLimitRangeItem(in corev1.LimitRangeItem) corev1.LimitRangeItem {
	item := *in.DeepCopy()
	if item.Type != corev1.LimitTypeContainer {
		return item
	}
	if item.Default == nil {
		item.Default = corev1.ResourceList{}
	}
	if item.DefaultRequest == nil {
		item.DefaultRequest = corev1.ResourceList{}
	}
	for k, v := range item.Max {
		if _, ok := item.Default[k]; !ok {
			item.Default[k] = v.DeepCopy()
		}
	}
	for k, v := range item.Default {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v.DeepCopy()
		}
	}
	for k, v := range item.Min {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v.DeepCopy()
		}
	}
	return item
}

func roleBinding(t *effective.Tenant, namespace, name, clusterRole string, subjects []tenantryv1alpha1.Subject) Object {
	ac := rbacv1ac.RoleBinding(name, namespace).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup(rbacv1.GroupName).
			WithKind("ClusterRole").
			WithName(clusterRole)).
		WithSubjects(subjectsApply(subjects)...)
	return Object{Kind: kinds.RoleBinding, Namespace: namespace, Name: name, Apply: ac}
}

// subjectsApply converts subjects, filling in the API group the server
// defaults: rbac.authorization.k8s.io for users and groups, none for
// service accounts.
func subjectsApply(subjects []tenantryv1alpha1.Subject) []*rbacv1ac.SubjectApplyConfiguration {
	out := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(subjects))
	for _, s := range subjects {
		ac := rbacv1ac.Subject().WithKind(s.Kind).WithName(s.Name)
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			ac.WithNamespace(s.Namespace)
			if s.APIGroup != "" {
				ac.WithAPIGroup(s.APIGroup)
			}
		default:
			group := s.APIGroup
			if group == "" {
				group = rbacv1.GroupName
			}
			ac.WithAPIGroup(group)
			if s.Namespace != "" {
				ac.WithNamespace(s.Namespace)
			}
		}
		out = append(out, ac)
	}
	return out
}

// isolationPolicy renders tenantry-isolation from the ingress preset (Tenant
// or Namespace: all ingress is denied except from the tenant's namespaces,
// or this namespace only, and allowIngressFrom) and the egress preset (the
// same for egress, plus cluster DNS, and allowEgressTo). Namespaces are
// selected by labels nobody but Tenantry can set (tenantry.io/tenant) or
// that the API server sets itself (kubernetes.io/metadata.name). With both
// presets None there is no policy; egress None renders what Tenantry
// rendered before egress existed.
func isolationPolicy(t *effective.Tenant, namespace string) *Object {
	var np tenantryv1alpha1.TenantNetworkPolicy
	if t.Spec.NetworkPolicy != nil {
		np = *t.Spec.NetworkPolicy
	}
	var spec networkingv1.NetworkPolicySpec
	if own := ownPeer(t, string(Isolation(t)), namespace); own != nil {
		spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: append([]networkingv1.NetworkPolicyPeer{*own}, np.AllowIngressFrom...)}}
	}
	if own := ownPeer(t, string(Egress(t)), namespace); own != nil {
		spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		spec.Egress = []networkingv1.NetworkPolicyEgressRule{
			{To: append([]networkingv1.NetworkPolicyPeer{*own}, np.AllowEgressTo...)},
			dnsEgress(),
		}
	}
	if len(spec.PolicyTypes) == 0 {
		return nil
	}
	o := networkPolicy(t, namespace, IsolationPolicy, spec)
	return &o
}

// ownPeer is the peer a preset (Tenant or Namespace) allows; nil for None.
func ownPeer(t *effective.Tenant, preset, namespace string) *networkingv1.NetworkPolicyPeer {
	switch preset {
	case string(tenantryv1alpha1.NetworkIsolationTenant):
		return &networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{tenantryv1alpha1.TenantLabel: t.Name}}}
	case string(tenantryv1alpha1.NetworkIsolationNamespace):
		return &networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}}}
	}
	return nil
}

// DNS labels: cluster DNS runs in kube-system as pods labelled k8s-app: kube-dns.
const (
	dnsNamespace = "kube-system"
	dnsLabel     = "k8s-app"
	dnsApp       = "kube-dns"
)

// dnsEgress allows cluster DNS, UDP and TCP port 53, and nothing else there.
func dnsEgress() networkingv1.NetworkPolicyEgressRule {
	port := intstr.FromInt32(53)
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	return networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: dnsNamespace}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{dnsLabel: dnsApp}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}, {Protocol: &tcp, Port: &port}},
	}
}

func networkPolicy(t *effective.Tenant, namespace, name string, spec networkingv1.NetworkPolicySpec) Object {
	ac := networkingv1ac.NetworkPolicy(name, namespace).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithSpec(convert[networkingv1ac.NetworkPolicySpecApplyConfiguration](defaultNetworkPolicySpec(spec)))
	return Object{Kind: kinds.NetworkPolicy, Namespace: namespace, Name: name, Apply: ac}
}

// defaultNetworkPolicySpec applies the API server's defaulting of ports
// (protocol TCP) inside the atomic ingress and egress rule lists.
func defaultNetworkPolicySpec(in networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicySpec {
	spec := in.DeepCopy()
	tcp := corev1.ProtocolTCP
	defaultPorts := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				ports[i].Protocol = &tcp
			}
		}
	}
	for i := range spec.Ingress {
		defaultPorts(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		defaultPorts(spec.Egress[i].Ports)
	}
	return spec
}
