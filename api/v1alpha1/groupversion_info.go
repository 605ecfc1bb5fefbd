// Package v1alpha1 contains the Tenant API, group tenantry.io version v1alpha1.
// +kubebuilder:object:generate=true
// +groupName=tenantry.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the Tenant API.
	GroupVersion = schema.GroupVersion{Group: "tenantry.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Tenant types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Tenant types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
