// Package effective computes a Tenant's effective spec: the one value every
// desired object is rendered from, with defaults resolved, and a hash of
// every input it came from. It is pure. Whatever the desired state comes to
// depend on (operator options today; a class or namespace claims next) is
// an input here, so that the hash moves whenever the desired state may.
package effective

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Options are the operator-wide settings the desired state depends on.
type Options struct {
	// DefaultOwnerClusterRole is bound to the owners when spec.ownerClusterRole is empty.
	DefaultOwnerClusterRole string `json:"defaultOwnerClusterRole,omitempty"`
}

// Tenant is a Tenant's effective spec.
type Tenant struct {
	Name string
	UID  types.UID
	// Generation is the Tenant's metadata.generation the spec is from.
	Generation int64
	// Spec is the Tenant's spec with defaults resolved: OwnerClusterRole is
	// never empty when the options name a default.
	Spec tenantryv1alpha1.TenantSpec
	// Hash identifies every input: the Tenant's identity, spec and the
	// options. Two effective specs with one hash render the same objects.
	Hash string
}

// inputs is what Hash is taken over.
type inputs struct {
	Name    string                      `json:"name"`
	UID     types.UID                   `json:"uid"`
	Spec    tenantryv1alpha1.TenantSpec `json:"spec"`
	Options Options                     `json:"options"`
}

// Of returns the effective spec of t under opts.
func Of(t *tenantryv1alpha1.Tenant, opts Options) *Tenant {
	spec := *t.Spec.DeepCopy()
	if spec.OwnerClusterRole == "" {
		spec.OwnerClusterRole = opts.DefaultOwnerClusterRole
	}
	data, err := json.Marshal(inputs{Name: t.Name, UID: t.UID, Spec: t.Spec, Options: opts})
	if err != nil {
		panic(fmt.Sprintf("effective: marshal inputs: %v", err)) // API types always marshal
	}
	sum := sha256.Sum256(data)
	return &Tenant{
		Name: t.Name, UID: t.UID, Generation: t.Generation, Spec: spec,
		Hash: hex.EncodeToString(sum[:16]),
	}
}

// Observed says whether status reports this effective spec as applied by a
// successful pass, so that every object it wants should exist already.
func (e *Tenant) Observed(st tenantryv1alpha1.TenantStatus) bool {
	return st.ObservedGeneration == e.Generation
}

// ClusterRoles lists every ClusterRole the Tenant binds, sorted and unique.
func (e *Tenant) ClusterRoles() []string {
	roles := []string{e.Spec.OwnerClusterRole}
	for _, b := range e.Spec.RoleBindings {
		roles = append(roles, b.ClusterRole)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// NamespaceNames are the names of the namespaces the spec lists, in order.
func (e *Tenant) NamespaceNames() []string {
	out := make([]string, 0, len(e.Spec.Namespaces))
	for _, ns := range e.Spec.Namespaces {
		out = append(out, ns.Name)
	}
	return out
}

// Hostnames are the hostnames the spec asks for, in order.
func (e *Tenant) Hostnames() []string { return Hostnames(&e.Spec) }

// Hostnames are the hostnames a spec asks for (spec.workloads.hostnames).
func Hostnames(spec *tenantryv1alpha1.TenantSpec) []string {
	if spec.Workloads == nil {
		return nil
	}
	out := make([]string, len(spec.Workloads.Hostnames))
	for i, h := range spec.Workloads.Hostnames {
		out[i] = string(h)
	}
	return out
}
