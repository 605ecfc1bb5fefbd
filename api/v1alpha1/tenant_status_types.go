package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
