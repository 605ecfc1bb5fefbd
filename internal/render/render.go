// Package render turns a Tenant's effective spec (internal/effective) into the objects Tenantry should manage for it,
// as server-side apply configurations. It is pure: no client, no I/O, and the
// same Tenant always renders the same objects.
package render

import (
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
)

// Child names fixed by the API contract.
const (
	ChildPrefix        = "tenantry-"
	OwnerBindingName   = "tenantry-owner"
	LimitRangeName     = "tenantry-defaults"
	IsolationPolicy    = "tenantry-isolation"
	clusterRBACPattern = "tenantry:tenant:%s"
)

// Object is one desired object: its identity and its apply configuration.
type Object struct {
	Kind      string
	Namespace string // empty for cluster-scoped objects
	Name      string
	Apply     runtime.ApplyConfiguration
}

// Key identifies the object in messages and maps: Kind/namespace/name.
func (o Object) Key() string { return kinds.Key(o.Kind, o.Namespace, o.Name) }

// ClusterRBACName is the name of the per-tenant ClusterRole and ClusterRoleBinding.
func ClusterRBACName(tenant string) string { return fmt.Sprintf(clusterRBACPattern, tenant) }

// ManagedLabels are the ownership marks every managed object carries.
func ManagedLabels(tenant string) map[string]string {
	return map[string]string{
		tenantryv1alpha1.TenantLabel:    tenant,
		tenantryv1alpha1.ManagedByLabel: tenantryv1alpha1.ManagedByValue,
	}
}

// ownerReference makes the Tenant the controller of a child, so garbage
// collection removes children (never namespaces) of a deleted Tenant.
func ownerReference(t *effective.Tenant) *metav1ac.OwnerReferenceApplyConfiguration {
	gvk := tenantryv1alpha1.GroupVersion.WithKind("Tenant")
	return metav1ac.OwnerReference().
		WithAPIVersion(gvk.GroupVersion().String()).
		WithKind(gvk.Kind).
		WithName(t.Name).
		WithUID(t.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// mergeMaps returns the union of ms, later maps winning; nil when empty so
// that an apply configuration never carries an empty map the server drops.
func mergeMaps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// convert copies a typed API value into its apply configuration through JSON,
// which has the same shape for both. Empty lists and maps vanish on the way,
// as they do on the server.
func convert[T any](in any) *T {
	data, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("render: marshal %T: %v", in, err)) // API types always marshal
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("render: unmarshal into %T: %v", out, err))
	}
	return out
}

// copyResourceList deep-copies a ResourceList; nil when empty.
func copyResourceList(in corev1.ResourceList) corev1.ResourceList {
	if len(in) == 0 {
		return nil
	}
	out := make(corev1.ResourceList, len(in))
	for k, v := range in {
		out[k] = v.DeepCopy()
	}
	return out
}
