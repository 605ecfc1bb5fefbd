// Package effective computes a Tenant's effective spec: the one value every
// desired object is rendered from, with defaults resolved, and a hash of
// every input it came from. It is pure. Whatever the desired state comes to
// depend on (operator options, a class) is an input here, so that the hash
// moves whenever the desired state may. NamespaceClaims are not: the planner
// verifies a claimed namespace against this hash and its claim (plan's
// claimInputs), so one claim's change re-checks only its namespace.
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
	// Spec is the Tenant's spec merged over its class's defaults, with the
	// built-in defaults resolved: OwnerClusterRole is never empty when the
	// options name a default.
	Spec tenantryv1alpha1.TenantSpec
	// Class is spec.class; ClassFound says whether it exists, and then
	// ClassGeneration and Constraints are its generation and constraints.
	Class           string
	ClassFound      bool
	ClassGeneration int64
	Constraints     *tenantryv1alpha1.TenantClassConstraints
	// Hash identifies every input: the Tenant's identity and spec, its
	// class's spec, and the options. Two effective specs with one hash
	// render the same objects.
	Hash string
}

// inputs is what Hash is taken over.
type inputs struct {
	Name    string                            `json:"name"`
	UID     types.UID                         `json:"uid"`
	Spec    tenantryv1alpha1.TenantSpec       `json:"spec"`
	Class   *tenantryv1alpha1.TenantClassSpec `json:"class,omitempty"`
	Options Options                           `json:"options"`
}

// Of returns the effective spec of a Tenant that names no class.
func Of(t *tenantryv1alpha1.Tenant, opts Options) *Tenant { return WithClass(t, nil, opts) }

// WithClass returns the effective spec of t under opts, class being the
// TenantClass t names (nil when it names none, or the class does not exist).
func WithClass(t *tenantryv1alpha1.Tenant, class *tenantryv1alpha1.TenantClass, opts Options) *Tenant {
	e := &Tenant{Name: t.Name, UID: t.UID, Generation: t.Generation, Class: t.Spec.Class}
	in := inputs{Name: t.Name, UID: t.UID, Spec: t.Spec, Options: opts}
	if class != nil && t.Spec.Class != "" && class.Name == t.Spec.Class {
		e.ClassFound, e.ClassGeneration, e.Constraints = true, class.Generation, class.Spec.Constraints
		e.Spec = Merge(class.Spec.Defaults, t.Spec)
		in.Class = &class.Spec
	} else {
		e.Spec = *t.Spec.DeepCopy()
	}
	if e.Spec.OwnerClusterRole == "" {
		e.Spec.OwnerClusterRole = opts.DefaultOwnerClusterRole
	}
	data, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("effective: marshal inputs: %v", err)) // API types always marshal
	}
	sum := sha256.Sum256(data)
	e.Hash = hex.EncodeToString(sum[:16])
	return e
}

// Observed says whether status reports this effective spec as applied by a
// successful pass, so that every object it wants should exist already.
// An empty status (a Tenant never reconciled, or one read from a file) is
// never observed.
func (e *Tenant) Observed(st tenantryv1alpha1.TenantStatus) bool {
	return st.ObservedGeneration > 0 && st.ObservedGeneration == e.Generation && st.ClassGeneration == e.ClassGeneration
}

// ClaimPrefix is the prefix of every claimed namespace's name:
// selfService.namePrefix, else "<tenant name>-".
func (e *Tenant) ClaimPrefix() string {
	if ss := e.Spec.SelfService; ss != nil && ss.NamePrefix != "" {
		return ss.NamePrefix
	}
	return e.Name + "-"
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
