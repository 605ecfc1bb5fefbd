package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantSpec declares what a tenant gets: its namespaces and, in each of them,
// quotas, a limit range, role bindings, network policies and Pod Security labels.
// +kubebuilder:validation:XValidation:rule="!has(self.roleBindings) || self.roleBindings.all(b, b.name != 'owner')",message="spec.roleBindings: the name 'owner' is reserved for the owners' binding (tenantry-owner)",fieldPath=".roleBindings"
// +kubebuilder:validation:XValidation:rule="!has(self.networkPolicy) || !has(self.networkPolicy.policies) || self.networkPolicy.policies.all(p, p.name != 'isolation')",message="spec.networkPolicy.policies: the name 'isolation' is reserved for the isolation preset (tenantry-isolation)",fieldPath=".networkPolicy.policies"
type TenantSpec struct {
	// owners are the users, groups or service accounts that administer the
	// tenant. They are bound to ownerClusterRole in every tenant namespace and
	// may get and watch this Tenant.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Owners []Subject `json:"owners"`

	// ownerClusterRole is the ClusterRole bound to the owners in every tenant
	// namespace (RoleBinding tenantry-owner). It must be one of the operator's
	// --allowed-cluster-roles. Defaults to the operator's
	// --default-owner-cluster-role (admin).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	OwnerClusterRole string `json:"ownerClusterRole,omitempty"`

	// roleBindings are extra bindings created in every tenant namespace, each
	// as RoleBinding tenantry-<name>.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	RoleBindings []TenantRoleBinding `json:"roleBindings,omitempty"`

	// namespaces are the tenant's namespaces. Each is created if absent and
	// labelled tenantry.io/tenant=<tenant name>. May be empty when the
	// tenant's namespaces are claimed (selfService).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	Namespaces []TenantNamespace `json:"namespaces,omitempty"`

	// selfService lets the owners claim namespaces themselves, with a
	// NamespaceClaim in any of the tenant's namespaces. Absent: no claim is
	// accepted.
	// +optional
	SelfService *SelfService `json:"selfService,omitempty"`

	// namespaceMetadata holds labels and annotations applied to every tenant
	// namespace. Per-namespace labels and annotations win on conflict.
	// +optional
	NamespaceMetadata *NamespaceMetadata `json:"namespaceMetadata,omitempty"`

	// podSecurity sets the Pod Security Admission labels on every tenant
	// namespace. When absent, enforce, audit and warn are all restricted.
	// +optional
	PodSecurity *PodSecurity `json:"podSecurity,omitempty"`

	// resourceQuotas become a ResourceQuota tenantry-<name> in every tenant
	// namespace.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	ResourceQuotas []TenantResourceQuota `json:"resourceQuotas,omitempty"`

	// limitRange becomes the LimitRange tenantry-defaults in every tenant namespace.
	// +optional
	LimitRange *TenantLimitRange `json:"limitRange,omitempty"`

	// networkPolicy configures network isolation of the tenant's namespaces.
	// +optional
	NetworkPolicy *TenantNetworkPolicy `json:"networkPolicy,omitempty"`

	// workloads are guardrails on what runs in the tenant's namespaces:
	// image registries, pull policy, storage, priority, runtime and ingress
	// classes, hostnames, service types, node selector and tolerations.
	// +optional
	Workloads *Workloads `json:"workloads,omitempty"`

	// deletionPolicy says what happens to a namespace when it leaves
	// spec.namespaces or the Tenant is deleted. Retain (default) keeps the
	// namespace and its content and removes only Tenantry's objects and marks;
	// Delete deletes the namespace.
	// Defaults to the class's, else Retain.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// adoptionPolicy says whether an existing namespace without a tenant label
	// may be adopted. Never (default) reports it as a conflict; IfUnowned adopts
	// it. A namespace of another tenant is never taken over.
	// Defaults to the class's, else Never.
	// +optional
	AdoptionPolicy AdoptionPolicy `json:"adoptionPolicy,omitempty"`

	// driftPolicy says what happens when someone changes or deletes an object
	// Tenantry manages. Correct (default) restores it at once; Report leaves it
	// and reports it in status. Drift is reported in both cases.
	// Defaults to the class's, else Correct.
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// class names the TenantClass whose defaults this Tenant inherits and
	// whose constraints bound it. Fields the Tenant sets win over the
	// class's defaults.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Class string `json:"class,omitempty"`
}

// DeletionPolicy says what happens to a tenant namespace that is released.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

// Deletion policies.
const (
	DeletionPolicyRetain DeletionPolicy = "Retain"
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// AdoptionPolicy says whether unlabelled existing namespaces may be adopted.
// +kubebuilder:validation:Enum=Never;IfUnowned
type AdoptionPolicy string

// Adoption policies.
const (
	AdoptionPolicyNever     AdoptionPolicy = "Never"
	AdoptionPolicyIfUnowned AdoptionPolicy = "IfUnowned"
)

// DriftPolicy says what happens when a managed object drifts.
// +kubebuilder:validation:Enum=Correct;Report
type DriftPolicy string

// Drift policies.
const (
	DriftPolicyCorrect DriftPolicy = "Correct"
	DriftPolicyReport  DriftPolicy = "Report"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tnt
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaceCount`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name: a Tenant name must be a DNS label of at most 63 characters (it is used as the value of the tenantry.io/tenant label)"

// Tenant is a team's share of the cluster: its namespaces and the quotas,
// limits, RBAC, network policies and Pod Security labels in them.
type Tenant struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the tenant.
	// +required
	Spec TenantSpec `json:"spec"`

	// status is the observed state of the tenant. It defaults to
	// observedGeneration 0, so that a Tenant the operator has not seen yet
	// reads as in progress to kstatus (Flux's wait, kubectl wait) instead of
	// Current, which kstatus assumes for an object without status.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status TenantStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TenantList is a list of Tenants.
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}
