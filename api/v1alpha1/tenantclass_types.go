package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantClassSpec declares a tier: defaults its member Tenants inherit, and
// bounds they may not cross.
type TenantClassSpec struct {
	// defaults are Tenant spec fields the members inherit. A field a Tenant
	// sets wins; resourceQuotas, roleBindings and networkPolicy.policies
	// merge by name, the Tenant's item winning.
	// +optional
	Defaults TenantDefaults `json:"defaults,omitempty"`

	// constraints bound every member Tenant: one that crosses them is
	// Stalled (ClassConstraintViolated) and nothing of it is applied.
	// +optional
	Constraints *TenantClassConstraints `json:"constraints,omitempty"`
}

// TenantDefaults are the Tenant spec fields a class can default: all but
// owners, namespaces and class (and, inside them, workloads.hostnames and
// selfService.namePrefix: no two Tenants may share those).
// +kubebuilder:validation:XValidation:rule="!has(self.roleBindings) || self.roleBindings.all(b, b.name != 'owner')",message="defaults.roleBindings: the name 'owner' is reserved for the owners' binding (tenantry-owner)",fieldPath=".roleBindings"
// +kubebuilder:validation:XValidation:rule="!has(self.networkPolicy) || !has(self.networkPolicy.policies) || self.networkPolicy.policies.all(p, p.name != 'isolation')",message="defaults.networkPolicy.policies: the name 'isolation' is reserved for the isolation preset (tenantry-isolation)",fieldPath=".networkPolicy.policies"
// +kubebuilder:validation:XValidation:rule="!has(self.workloads) || !has(self.workloads.hostnames)",message="defaults.workloads.hostnames: hostnames are a Tenant's own (no two Tenants may share one); a class cannot give them",fieldPath=".workloads.hostnames"
// +kubebuilder:validation:XValidation:rule="!has(self.selfService) || !has(self.selfService.namePrefix)",message="defaults.selfService.namePrefix: a claim prefix is a Tenant's own (by default '<tenant name>-'), so that no two members claim names from one space; a class cannot give one",fieldPath=".selfService.namePrefix"
type TenantDefaults struct {
	// ownerClusterRole is bound to the owners in every tenant namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	OwnerClusterRole string `json:"ownerClusterRole,omitempty"`

	// roleBindings are extra bindings in every tenant namespace.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	RoleBindings []TenantRoleBinding `json:"roleBindings,omitempty"`

	// selfService lets the members' owners claim namespaces. A Tenant's own
	// selfService wins: its maxNamespaces always (0 opts out of claiming),
	// its deletionPolicy when it sets one. namePrefix is never a class's.
	// +optional
	SelfService *SelfService `json:"selfService,omitempty"`

	// namespaceMetadata holds labels and annotations for every tenant
	// namespace; a Tenant's keys win.
	// +optional
	NamespaceMetadata *NamespaceMetadata `json:"namespaceMetadata,omitempty"`

	// podSecurity sets the Pod Security labels; a Tenant's modes win one by one.
	// +optional
	PodSecurity *PodSecurity `json:"podSecurity,omitempty"`

	// resourceQuotas become ResourceQuotas in every tenant namespace.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	ResourceQuotas []TenantResourceQuota `json:"resourceQuotas,omitempty"`

	// limitRange becomes the LimitRange tenantry-defaults.
	// +optional
	LimitRange *TenantLimitRange `json:"limitRange,omitempty"`

	// networkPolicy configures network isolation.
	// +optional
	NetworkPolicy *TenantNetworkPolicy `json:"networkPolicy,omitempty"`

	// deletionPolicy of the members that set none.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// adoptionPolicy of the members that set none.
	// +optional
	AdoptionPolicy AdoptionPolicy `json:"adoptionPolicy,omitempty"`

	// driftPolicy of the members that set none.
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// workloads are guardrails the members inherit, list by list (a list a
	// Tenant sets replaces the class's); hostnames are never a class's.
	// +optional
	Workloads *Workloads `json:"workloads,omitempty"`
}

// TenantClassConstraints are bounds a member Tenant may not cross.
type TenantClassConstraints struct {
	// maxNamespaces is the most namespaces a member may have: its
	// spec.namespaces plus its claimed ones. A claim past it is refused
	// (MaxNamespaces) and gets no namespace; a member past it, as when the
	// class lowers it, is Stalled.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxNamespaces *int32 `json:"maxNamespaces,omitempty"`

	// podSecurityFloor is the weakest Pod Security enforce level a member
	// (or any of its namespaces) may use.
	// +optional
	PodSecurityFloor PodSecurityLevel `json:"podSecurityFloor,omitempty"`

	// allowedClusterRoles narrows the operator's --allowed-cluster-roles
	// for the members: they may bind only roles in both lists.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	AllowedClusterRoles []string `json:"allowedClusterRoles,omitempty"`

	// maxQuota bounds every quota item: no member's resourceQuotas hard
	// value for a resource listed here may be above it.
	// +optional
	MaxQuota corev1.ResourceList `json:"maxQuota,omitempty"`
}

// TenantClassStatus shows a class's rollout to its members.
type TenantClassStatus struct {
	// observedGeneration is the class generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// tenants is how many Tenants name this class.
	// +optional
	Tenants int32 `json:"tenants,omitempty"`

	// updatedTenants is how many of them have applied this generation (a
	// member Stalled at its own generation counts: it waits for its spec to
	// be fixed, not for the class).
	// +optional
	UpdatedTenants int32 `json:"updatedTenants,omitempty"`

	// readyTenants is how many of them are Ready.
	// +optional
	ReadyTenants int32 `json:"readyTenants,omitempty"`

	// conditions: Ready (True once rolled out, whatever the members' own
	// health, which each member reports), and Reconciling while the rollout
	// is under way.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tntc
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedTenants`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyTenants`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// TenantClass is a tier of Tenants defined once: defaults its members
// inherit and constraints they may not cross.
type TenantClass struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the class.
	// +optional
	Spec TenantClassSpec `json:"spec,omitempty"`

	// status shows the rollout to the members. It defaults to
	// observedGeneration 0, so that kstatus takes a class not yet seen by the
	// operator for in progress (as for Tenant).
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status TenantClassStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TenantClassList is a list of TenantClasses.
type TenantClassList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantClass `json:"items"`
}
