package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// TenantNamespace is one namespace of the tenant.
type TenantNamespace struct {
	// name of the namespace, a DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['default', 'kube-system', 'kube-public', 'kube-node-lease'])",message="a system namespace (default, kube-system, kube-public, kube-node-lease) can never be a tenant namespace"
	Name string `json:"name"`

	// labels added to this namespace (on top of namespaceMetadata.labels).
	// Labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/') && !k.startsWith('pod-security.kubernetes.io/'))",message="labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved; use spec.podSecurity"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",message="label keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// annotations added to this namespace (on top of namespaceMetadata.annotations).
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k.lowerAscii()).hasValue())",message="annotation keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 2048)",message="annotation values must be at most 2048 characters, so that a namespace's annotations stay within the API server's 256 KiB limit"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/'))",message="annotations under tenantry.io/ are reserved: they carry Tenantry's proof of ownership and adoption records"
	Annotations map[string]string `json:"annotations,omitempty"`

	// podSecurity overrides spec.podSecurity for this namespace, field by field.
	// +optional
	PodSecurity *PodSecurity `json:"podSecurity,omitempty"`
}

// SelfService bounds the namespaces a tenant's owners claim themselves.
type SelfService struct {
	// maxNamespaces is how many claimed namespaces the tenant may have at
	// most (spec.namespaces are not counted).
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	MaxNamespaces int32 `json:"maxNamespaces"`

	// namePrefix every claimed namespace's name must start with. Defaults
	// to "<tenant name>-".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=62
	// +kubebuilder:validation:Pattern=`^[a-z0-9][-a-z0-9]*$`
	NamePrefix string `json:"namePrefix,omitempty"`

	// deletionPolicy says what deleting a claim does to its namespace:
	// Retain (default) releases it, Delete deletes it (only one Tenantry
	// created for that claim). A claim deleted with the namespace it is in
	// does the same, so only Delete cascades. When the Tenant is deleted,
	// its deletionPolicy applies.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// NamespaceMetadata is metadata applied to every tenant namespace.
type NamespaceMetadata struct {
	// labels added to every tenant namespace.
	// Labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/') && !k.startsWith('pod-security.kubernetes.io/'))",message="labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved; use spec.podSecurity"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",message="label keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// annotations added to every tenant namespace.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k.lowerAscii()).hasValue())",message="annotation keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 2048)",message="annotation values must be at most 2048 characters, so that a namespace's annotations stay within the API server's 256 KiB limit"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/'))",message="annotations under tenantry.io/ are reserved: they carry Tenantry's proof of ownership and adoption records"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PodSecurityLevel is a Pod Security Standards level.
// +kubebuilder:validation:Enum=privileged;baseline;restricted
type PodSecurityLevel string

// Pod Security Standards levels.
const (
	PodSecurityPrivileged PodSecurityLevel = "privileged"
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
)

// PodSecurity holds the Pod Security Admission modes of a namespace.
type PodSecurity struct {
	// enforce is the level pods must meet to be admitted (default restricted).
	// +optional
	Enforce PodSecurityLevel `json:"enforce,omitempty"`

	// enforceVersion pins the policy version, e.g. v1.37 (default latest).
	// +optional
	// +kubebuilder:validation:Pattern=`^(latest|v[0-9]+\.[0-9]+)$`
	EnforceVersion string `json:"enforceVersion,omitempty"`

	// audit is the level whose violations are recorded in the audit log
	// (default: the enforce level).
	// +optional
	Audit PodSecurityLevel `json:"audit,omitempty"`

	// warn is the level whose violations are returned as warnings
	// (default: the enforce level).
	// +optional
	Warn PodSecurityLevel `json:"warn,omitempty"`
}

// TenantRoleBinding binds a ClusterRole to subjects in every tenant namespace.
type TenantRoleBinding struct {
	// name of the binding, a DNS label; the RoleBinding is tenantry-<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=54
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// clusterRole is the ClusterRole to bind. It must be one of the
	// operator's --allowed-cluster-roles.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClusterRole string `json:"clusterRole"`

	// subjects to bind the role to.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Subjects []Subject `json:"subjects"`
}

// Subject is a user, group or service account to bind, in the shape of an
// RBAC subject (rbacv1.Subject). Its syntax is checked when the Tenant is
// applied, so that no binding is refused later for it.
// +kubebuilder:validation:XValidation:rule="self.kind != 'ServiceAccount' || (has(self.__namespace__) && size(self.__namespace__) > 0)",message="a ServiceAccount subject needs a namespace"
// +kubebuilder:validation:XValidation:rule="self.kind != 'ServiceAccount' || !format.dns1123Subdomain().validate(self.name).hasValue()",message="a ServiceAccount subject's name must be a DNS subdomain (lowercase alphanumerics, '-' and '.')"
// +kubebuilder:validation:XValidation:rule="!has(self.apiGroup) || (self.kind == 'ServiceAccount' ? size(self.apiGroup) == 0 : self.apiGroup == 'rbac.authorization.k8s.io')",message="apiGroup must be rbac.authorization.k8s.io for User and Group, and empty for ServiceAccount (or left out)"
// +kubebuilder:validation:XValidation:rule="!(self.kind == 'Group' && self.name in ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts']) && !(self.kind == 'User' && self.name == 'system:anonymous')",message="all users, all service accounts and anonymous requests (Group system:authenticated, system:unauthenticated, system:serviceaccounts; User system:anonymous) are never bound in a tenant namespace: name the users, groups or service accounts"
type Subject struct {
	// kind of subject: User, Group or ServiceAccount.
	// +required
	// +kubebuilder:validation:Enum=User;Group;ServiceAccount
	Kind string `json:"kind"`

	// apiGroup: rbac.authorization.k8s.io for User and Group (the default
	// when left out), empty for ServiceAccount.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	APIGroup string `json:"apiGroup,omitempty"`

	// name of the user, group or service account.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`

	// namespace of a ServiceAccount subject.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// LabelValue is the value of a label: empty, or at most 63 alphanumerics,
// '-', '_' or '.', beginning and ending with an alphanumeric.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
type LabelValue string

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

// NamespacePhase is the state of one tenant namespace.
// +kubebuilder:validation:Enum=Active;Pending;Conflict;Terminating
type NamespacePhase string

// Namespace phases.
const (
	// NamespaceActive: the namespace exists, is the tenant's and is reconciled.
	NamespaceActive NamespacePhase = "Active"
	// NamespacePending: the namespace is not (yet) in place.
	NamespacePending NamespacePhase = "Pending"
	// NamespaceConflict: the namespace belongs to someone else and is left alone.
	NamespaceConflict NamespacePhase = "Conflict"
	// NamespaceTerminating: the namespace is being deleted.
	NamespaceTerminating NamespacePhase = "Terminating"
)

// NamespaceStatus is the observed state of one tenant namespace.
type NamespaceStatus struct {
	// name of the namespace.
	// +required
	Name string `json:"name"`
	// phase is Active, Pending, Conflict or Terminating.
	// +required
	Phase NamespacePhase `json:"phase"`
	// message explains a phase other than Active; for an adopted namespace it
	// says so, naming the RoleBindings not made by Tenantry that kept working
	// there when it was adopted.
	// +optional
	Message string `json:"message,omitempty"`
	// claim is the NamespaceClaim (<namespace>/<name>) the namespace is
	// for; empty for a namespace of spec.namespaces.
	// +optional
	Claim string `json:"claim,omitempty"`
}

// DriftAction is what the operator did about a drift finding.
// +kubebuilder:validation:Enum=Corrected;Reported;Recreated
type DriftAction string

// Drift actions.
const (
	// DriftActionCorrected: the object was changed and has been restored.
	DriftActionCorrected DriftAction = "Corrected"
	// DriftActionRecreated: the object was deleted (or fell out of Tenantry's
	// label selection) and has been applied again.
	DriftActionRecreated DriftAction = "Recreated"
	// DriftActionReported: the object drifted and was left alone (driftPolicy: Report).
	DriftActionReported DriftAction = "Reported"
)

// DriftRecord is one drift finding.
type DriftRecord struct {
	// time the drift was found.
	// +required
	Time metav1.Time `json:"time"`
	// kind of the drifted object.
	// +required
	Kind string `json:"kind"`
	// namespace of the drifted object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the drifted object.
	// +required
	Name string `json:"name"`
	// action taken: Corrected, Recreated or Reported.
	// +required
	Action DriftAction `json:"action"`
	// manager is the field manager that last wrote the drifted fields, read
	// from managedFields; empty when unknowable (e.g. a deletion).
	// +optional
	Manager string `json:"manager,omitempty"`
	// fields that differed from the desired state, e.g. spec.hard.pods.
	// +optional
	// +listType=atomic
	Fields []string `json:"fields,omitempty"`
}

// TenantStatus is the observed state of a Tenant.
type TenantStatus struct {
	// observedGeneration is the generation the status reflects; it moves only
	// when a reconcile pass succeeded.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// classGeneration is the generation of spec.class that the last
	// successful pass applied; Ready requires it to be the class's current one.
	// +optional
	ClassGeneration int64 `json:"classGeneration,omitempty"`

	// conditions: Ready, Drifted, and Reconciling/Stalled while they are True.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// namespaces is the state of each namespace in spec.namespaces and of
	// each namespace claimed by an accepted NamespaceClaim.
	// +optional
	// +listType=map
	// +listMapKey=name
	Namespaces []NamespaceStatus `json:"namespaces,omitempty"`

	// namespaceCount is the number of Active tenant namespaces.
	// +optional
	NamespaceCount int32 `json:"namespaceCount,omitempty"`

	// managedObjects is the number of objects Tenantry manages for this tenant.
	// +optional
	ManagedObjects int32 `json:"managedObjects,omitempty"`

	// driftCorrections is the cumulative number of drift corrections.
	// +optional
	DriftCorrections int64 `json:"driftCorrections,omitempty"`

	// drift holds the 10 most recent drift findings, newest first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Drift []DriftRecord `json:"drift,omitempty"`

	// inventory lists the namespaces Tenantry created or adopted for this
	// Tenant (its UID), with each namespace's own UID. It is the proof of
	// ownership: only a namespace listed here is ever released, and only one
	// listed as Created is ever deleted (under deletionPolicy Delete).
	// +optional
	// +listType=map
	// +listMapKey=name
	Inventory []InventoryEntry `json:"inventory,omitempty"`

	// conflicts are objects that carry this Tenant's tenantry.io/tenant label
	// without proof that Tenantry made them for this Tenant: they are never
	// modified or deleted. At most 20, sorted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Conflicts []ObjectConflict `json:"conflicts,omitempty"`

	// quotas are the tenant-wide totals of each scope: Tenant quota: its
	// hard limits and the usage summed over the tenant's namespaces.
	// +optional
	// +listType=map
	// +listMapKey=name
	Quotas []TenantQuotaStatus `json:"quotas,omitempty"`
}

// TenantQuotaStatus is the tenant-wide state of one scope: Tenant quota.
type TenantQuotaStatus struct {
	// name is the quota item's name.
	Name string `json:"name"`
	// hard is the tenant-wide limit.
	// +optional
	Hard corev1.ResourceList `json:"hard,omitempty"`
	// used is the usage summed over the tenant's namespaces, as each
	// namespace's ResourceQuota reports it.
	// +optional
	Used corev1.ResourceList `json:"used,omitempty"`
}

// NamespaceOrigin says how a namespace came under Tenantry's management.
// +kubebuilder:validation:Enum=Created;Adopted
type NamespaceOrigin string

// Namespace origins.
const (
	// NamespaceCreated: Tenantry created the namespace for this Tenant.
	NamespaceCreated NamespaceOrigin = "Created"
	// NamespaceAdopted: the namespace existed and Tenantry adopted it; it is
	// only ever released, never deleted.
	NamespaceAdopted NamespaceOrigin = "Adopted"
)

// InventoryEntry is one namespace Tenantry manages for a Tenant.
type InventoryEntry struct {
	// name of the namespace.
	// +required
	Name string `json:"name"`
	// uid of the namespace: a namespace deleted and created again under the
	// same name is not the one in the inventory.
	// +required
	UID types.UID `json:"uid"`
	// origin is Created or Adopted.
	// +required
	Origin NamespaceOrigin `json:"origin"`
	// claim is the NamespaceClaim (<namespace>/<name>) the namespace was
	// created for, so that its departure follows selfService.deletionPolicy
	// even once the claim is gone; empty for a spec namespace.
	// +optional
	Claim string `json:"claim,omitempty"`
}

// ObjectConflict is an object labelled for a Tenant that Tenantry did not make for it.
type ObjectConflict struct {
	// kind of the object.
	// +required
	Kind string `json:"kind"`
	// namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the object.
	// +required
	Name string `json:"name"`
	// message says why the object is not taken for the Tenant's.
	// +required
	Message string `json:"message"`
}

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
