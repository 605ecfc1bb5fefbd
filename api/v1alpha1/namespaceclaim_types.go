package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NamespaceClaimSpec is what the claimed namespace carries besides what its
// Tenant gives every namespace.
type NamespaceClaimSpec struct {
	// labels added to the claimed namespace (on top of the Tenant's
	// namespaceMetadata.labels). Labels under tenantry.io/ and
	// pod-security.kubernetes.io/ are reserved, and so, unlike in a Tenant,
	// is every label under kubernetes.io/ or k8s.io/ and their subdomains:
	// these are the first namespace labels a tenant owner chooses, and
	// namespace selectors trust Kubernetes' own (kubernetes.io/metadata.name
	// names a namespace in every selector Tenantry writes).
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/') && !k.startsWith('pod-security.kubernetes.io/'))",message="labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved; Pod Security comes from the Tenant"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.startsWith('pod-security.kubernetes.io/') || !k.matches('^([^/]*[.])?(kubernetes|k8s)[.]io/'))",message="labels under kubernetes.io/, k8s.io/ and their subdomains are reserved for Kubernetes: the API server sets kubernetes.io/metadata.name itself, and namespace selectors trust these labels"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k).hasValue())",message="label keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// annotations added to the claimed namespace (on top of the Tenant's
	// namespaceMetadata.annotations).
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !format.qualifiedName().validate(k.lowerAscii()).hasValue())",message="annotation keys must be qualified names: an optional DNS subdomain prefix and '/', then at most 63 characters of alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 2048)",message="annotation values must be at most 2048 characters, so that a namespace's annotations stay within the API server's 256 KiB limit"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('tenantry.io/'))",message="annotations under tenantry.io/ are reserved: they carry Tenantry's proof of ownership and adoption records"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// NamespaceClaimStatus is the observed state of a NamespaceClaim.
type NamespaceClaimStatus struct {
	// observedGeneration is the generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// namespace is the namespace made for the claim, once accepted.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// conditions: Ready, and Reconciling/Stalled while they are True. A
	// refused claim is Stalled with reason SelfServiceDisabled, NamePrefix,
	// MaxNamespaces, NamespaceExists or NamespaceProtected.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=nsc
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name: a NamespaceClaim is named after the namespace it asks for, so it must be a DNS label of at most 63 characters"
// +kubebuilder:validation:XValidation:rule="!(self.metadata.name in ['default', 'kube-system', 'kube-public', 'kube-node-lease'])",message="metadata.name: a system namespace (default, kube-system, kube-public, kube-node-lease) can never be claimed"

// NamespaceClaim asks, from inside one of a tenant's namespaces, for a new
// namespace of that tenant named like the claim. The tenant's owners create
// claims themselves; the Tenant's selfService bounds them.
type NamespaceClaim struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the claimed namespace's own labels and annotations.
	// +optional
	Spec NamespaceClaimSpec `json:"spec,omitempty"`

	// status is the observed state of the claim. It defaults to
	// observedGeneration 0, so that kstatus takes a claim not yet seen by the
	// operator for in progress (as for Tenant).
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status NamespaceClaimStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// NamespaceClaimList is a list of NamespaceClaims.
type NamespaceClaimList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NamespaceClaim `json:"items"`
}
