// Package plan is Tenantry's planner: a pure function from a Tenant's
// effective spec and the state the reconciler observed to a Plan — a verdict
// for every listed namespace, the writes to make and why, what to prune or
// release, and the problems to report. The operator executes plans; the
// `tenantry plan` command prints them. Neither decides anything else.
package plan

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/internal/status"
)

// Config holds the operator settings that bound what a plan may do.
type Config struct {
	// AllowedClusterRoles are the ClusterRoles Tenants may bind.
	AllowedClusterRoles []string
	// OperatorNamespace is the operator's own namespace, never a tenant's.
	OperatorNamespace string
	// ProtectedNamespaces and ProtectedNamespaceSelector name more
	// namespaces that can never be tenant namespaces.
	ProtectedNamespaces        []string
	ProtectedNamespaceSelector labels.Selector
}

// Observed is the state a plan is made from, as the reconciler gathered it.
type Observed struct {
	// Status is the Tenant's status as last written.
	Status tenantryv1alpha1.TenantStatus
	// Deleting: the Tenant is being deleted.
	Deleting bool
	// Namespaces holds every namespace the plan may touch (listed in the
	// spec or the inventory, or labelled for the Tenant), by name.
	Namespaces map[string]Namespace
	// Inventory is status.inventory as this pass has it so far, by name.
	Inventory map[string]tenantryv1alpha1.InventoryEntry
	// Objects are the Tenant's cached children and cluster objects (those
	// carrying its label), by key.
	Objects map[string]client.Object
	// Full holds objects read whole from the API server because a plan
	// asked (Confirm), by key; nil when the read found nothing.
	Full map[string]client.Object
	// Refused are the namespaces the API server refused in this pass, with
	// its answer: they wait, and nothing is made in them.
	Refused map[string]string
	// Preflight are the API server's refusals of the spec's passthrough
	// content (a dry run); any refusal halts the plan.
	Preflight []string
	// Claims are the NamespaceClaims in the Tenant's namespaces.
	Claims []tenantryv1alpha1.NamespaceClaim
	// Verified reports whether version rv of the object at key was already
	// found in sync with the desired state of inputs; nil for never.
	Verified func(key, rv, inputs string) bool
	// Created is the Tenant's creationTimestamp: of two Tenants asking for
	// one hostname, the earlier holds it.
	Created metav1.Time
	// HostnameClaims are other Tenants' hostnames, at least those of every
	// Tenant asking for one overlapping this Tenant's (GrantHostnames).
	HostnameClaims []HostnameClaim
	// HeldHostnames is the grant table in place: who holds each hostname
	// now, which a later claimant, whatever its age, does not take.
	HeldHostnames Grants
}

// Namespace is one observed namespace.
type Namespace struct {
	// Object is the namespace; nil when it does not exist.
	Object *corev1.Namespace
	// Cached: read from the operator's label-filtered cache, so a slim copy.
	Cached bool
}

// Op is what an action does.
type Op string

// Actions, in the order a plan lists them.
const (
	// OpApply creates or updates an object by server-side apply.
	OpApply Op = "apply"
	// OpAdopt records what a namespace was, then applies it as the tenant's.
	OpAdopt Op = "adopt"
	// OpCorrect applies an object to undo drift (rate-limited per object).
	OpCorrect Op = "correct"
	// OpDelete deletes an object, pinned to its UID.
	OpDelete Op = "delete"
	// OpRelease gives up a namespace: Tenantry's marks go, what adoption
	// overwrote comes back, and it leaves the inventory.
	OpRelease Op = "release"
)

// Action is one write of a plan.
type Action struct {
	Op Op
	// Why says what makes the write necessary, for people.
	Why string
	// Object is the desired object (apply, adopt, correct).
	Object render.Object
	// Target is the object deleted or released.
	Target Ref
	// Finding is the drift a correction undoes, or for an update of an
	// object read whole, the fields that change.
	Finding *drift.Finding
	// Inputs are what the desired object was rendered from (verified marks).
	Inputs string
	// Exists: the object exists before the action.
	Exists bool
	// Created: applying the namespace creates it (it was absent).
	Created bool
	// ResourceVersion, when set, makes the write conditional on that
	// version: a quota share lowered from the usage that version counted.
	ResourceVersion string
}

// Key is the key of the object the action writes.
func (a Action) Key() string {
	if a.Op == OpDelete || a.Op == OpRelease {
		return kinds.Key(a.Target.Kind, a.Target.Namespace, a.Target.Name)
	}
	return a.Object.Key()
}

// Ref names an existing object.
type Ref struct {
	Kind, Namespace, Name string
	UID                   types.UID
}

// Key is the key of the object.
func (r Ref) Key() string { return kinds.Key(r.Kind, r.Namespace, r.Name) }

// Mark is an object version found in sync with the desired state of inputs.
type Mark struct {
	Key, ResourceVersion, Inputs string
}

// Report is drift left in place (driftPolicy: Report).
type Report struct {
	Finding drift.Finding
	// Record: the finding is new, so it is recorded and announced.
	Record bool
}

// Plan is what one pass should do for a Tenant.
type Plan struct {
	// Inputs is the hash of the effective spec the plan is for.
	Inputs string
	// Halted: the spec is refused as a whole; nothing is applied or pruned.
	Halted bool
	// Deleting: the Tenant is being deleted; everything of it goes.
	Deleting bool
	// Namespaces are the listed namespaces' statuses once the actions succeed.
	Namespaces []tenantryv1alpha1.NamespaceStatus
	// Active are the listed namespaces that are the tenant's and in place.
	Active []string
	// Actions are the writes, in order: namespaces, their children,
	// cluster RBAC, then deletions, then releases.
	Actions []Action
	// Confirm are objects to read whole from the API server before the
	// plan holds: suspected drift, and namespaces whose origin is unknown.
	// While any is listed, the plan must be made again, not executed.
	Confirm []Ref
	// InPlace counts the desired objects that exist and need no write.
	InPlace int
	// Marks are the object versions found in sync.
	Marks []Mark
	// Reports are drift left in place.
	Reports []Report
	// Stalled are the problems only a person can fix.
	Stalled []status.Problem
	// Progressing is work that waits on something else.
	Progressing []string
	// Conflicts are objects labelled for the Tenant without proof.
	Conflicts []tenantryv1alpha1.ObjectConflict
	// Inventory is the inventory as the plan knows it (before the writes).
	Inventory map[string]tenantryv1alpha1.InventoryEntry
	// Finalize: the Tenant is deleted and nothing of it is left to wait for.
	Finalize bool
	// Claims are the verdicts on the NamespaceClaims, accepted or refused.
	Claims []status.ClaimVerdict
	// Quotas are the tenant-wide totals of the Tenant-scope quotas.
	Quotas []tenantryv1alpha1.TenantQuotaStatus
}

// Build makes the plan for e from what was observed. Pure.
func Build(e *effective.Tenant, obs *Observed, cfg Config) *Plan {
	b := newBuilder(e, obs, cfg)
	return b.build()
}

// Changes reports whether the plan writes anything.
func (p *Plan) Changes() bool { return len(p.Actions) > 0 }

// NamespaceActions are the actions that write namespaces themselves.
func (p *Plan) NamespaceActions() []Action {
	var out []Action
	for _, a := range p.Actions {
		if a.Object.Kind == kinds.Namespace && (a.Op == OpApply || a.Op == OpAdopt || a.Op == OpCorrect) {
			out = append(out, a)
		}
	}
	return out
}

// Initial are the objects a Tenant gets when nothing of it exists yet, in
// the order they are applied: what `tenantry render` prints and what the
// benchmark's floor applies. Every ClusterRole it asks for is allowed.
func Initial(e *effective.Tenant) []render.Object {
	b := newBuilder(e, &Observed{}, Config{AllowedClusterRoles: e.ClusterRoles()})
	b.initial = true
	p := b.build()
	out := make([]render.Object, 0, len(p.Actions))
	for _, a := range p.Actions {
		out = append(out, a.Object)
	}
	return out
}
