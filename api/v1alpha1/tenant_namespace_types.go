package v1alpha1

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
