package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// QuotaScope says what a quota item's hard limits apply to.
// +kubebuilder:validation:Enum=Namespace;Tenant
type QuotaScope string

const (
	// QuotaScopeNamespace: hard applies to each namespace (the default).
	QuotaScopeNamespace QuotaScope = "Namespace"
	// QuotaScopeTenant: hard is the total over all the tenant's namespaces;
	// Tenantry moves each namespace's share to where it is used.
	QuotaScopeTenant QuotaScope = "Tenant"
)

// TenantResourceQuota becomes ResourceQuota tenantry-<name> in every tenant namespace.
type TenantResourceQuota struct {
	// name of the quota, a DNS label; the ResourceQuota is tenantry-<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=54
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// scope is Namespace (the default: hard applies to each namespace) or
	// Tenant (hard is the total over all the tenant's namespaces, never
	// exceeded: each namespace's ResourceQuota holds a share of it).
	// +optional
	Scope QuotaScope `json:"scope,omitempty"`

	// hard is the set of hard limits for each named resource: per namespace,
	// or for the whole tenant under scope Tenant.
	// +required
	// +kubebuilder:validation:MinProperties=1
	Hard corev1.ResourceList `json:"hard"`

	// scopes restrict the quota to objects matching every scope.
	// +optional
	// +listType=atomic
	Scopes []corev1.ResourceQuotaScope `json:"scopes,omitempty"`

	// scopeSelector restricts the quota to objects matching the selector.
	// +optional
	ScopeSelector *corev1.ScopeSelector `json:"scopeSelector,omitempty"`
}

// TenantLimitRange becomes LimitRange tenantry-defaults in every tenant namespace.
type TenantLimitRange struct {
	// limits are the LimitRange items (defaults, minimums, maximums).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	Limits []corev1.LimitRangeItem `json:"limits"`
}

// NetworkIsolation is a network isolation preset.
// +kubebuilder:validation:Enum=Tenant;Namespace;None
type NetworkIsolation string

// Network isolation presets.
const (
	// NetworkIsolationTenant allows ingress from any namespace of the same tenant.
	NetworkIsolationTenant NetworkIsolation = "Tenant"
	// NetworkIsolationNamespace allows ingress only from the same namespace.
	NetworkIsolationNamespace NetworkIsolation = "Namespace"
	// NetworkIsolationNone creates no isolation policy.
	NetworkIsolationNone NetworkIsolation = "None"
)

// NetworkEgress is an egress preset of the isolation policy.
// +kubebuilder:validation:Enum=None;Tenant;Namespace
type NetworkEgress string

// Egress presets.
const (
	// NetworkEgressNone leaves egress unrestricted (the default).
	NetworkEgressNone NetworkEgress = "None"
	// NetworkEgressTenant allows egress to the tenant's namespaces only.
	NetworkEgressTenant NetworkEgress = "Tenant"
	// NetworkEgressNamespace allows egress to the same namespace only.
	NetworkEgressNamespace NetworkEgress = "Namespace"
)

// TenantNetworkPolicy configures network isolation.
type TenantNetworkPolicy struct {
	// isolation is the preset for NetworkPolicy tenantry-isolation: Tenant
	// (default) allows ingress from the tenant's namespaces, Namespace only from
	// the same namespace, None creates no isolation policy. Defaults to the
	// class's, else Tenant.
	// +optional
	Isolation NetworkIsolation `json:"isolation,omitempty"`

	// allowIngressFrom are extra peers allowed in by the isolation policy,
	// such as the ingress controller's or monitoring's namespaces.
	// +optional
	// +listType=atomic
	AllowIngressFrom []networkingv1.NetworkPolicyPeer `json:"allowIngressFrom,omitempty"`

	// egress is the egress preset of NetworkPolicy tenantry-isolation: None
	// (default) leaves egress open, Tenant allows egress only to the
	// tenant's namespaces, Namespace only to the same namespace; both allow
	// cluster DNS (kube-system pods labelled k8s-app: kube-dns, port 53) and
	// allowEgressTo.
	// +optional
	Egress NetworkEgress `json:"egress,omitempty"`

	// allowEgressTo are extra peers the isolation policy lets pods reach
	// when egress is Tenant or Namespace, such as an egress proxy's
	// namespace or an ipBlock.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	AllowEgressTo []networkingv1.NetworkPolicyPeer `json:"allowEgressTo,omitempty"`

	// policies are extra NetworkPolicies, each created as tenantry-<name> in
	// every tenant namespace.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Policies []TenantExtraNetworkPolicy `json:"policies,omitempty"`
}

// TenantExtraNetworkPolicy becomes NetworkPolicy tenantry-<name> in every tenant namespace.
type TenantExtraNetworkPolicy struct {
	// name of the policy, a DNS label; the NetworkPolicy is tenantry-<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=54
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// spec of the NetworkPolicy.
	// +required
	Spec networkingv1.NetworkPolicySpec `json:"spec"`
}
