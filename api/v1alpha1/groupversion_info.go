// Package v1alpha1 contains the Tenant API, group tenantry.io version v1alpha1.
// +kubebuilder:object:generate=true
// +groupName=tenantry.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the Tenant API.
	GroupVersion = schema.GroupVersion{Group: "tenantry.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Tenant types with a scheme. Only
	// apimachinery is imported, so that the API package stays light to import.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the Tenant types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Tenant{}, &TenantList{}, &TenantClass{}, &TenantClassList{},
		&NamespaceClaim{}, &NamespaceClaimList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
