package plan

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// SystemNamespaces can never be tenant namespaces (the CRD refuses them too).
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// AdoptedPrefix starts the status message of an adopted namespace.
const AdoptedPrefix = "adopted"

// Protection says why a namespace can never be a tenant namespace, or "".
// Besides the system namespaces and the operator's own, the operator's flags
// can protect more, by name or by label.
func (c Config) Protection(name string, ns *corev1.Namespace) string {
	switch {
	case slices.Contains(SystemNamespaces, name):
		return "namespace " + name + " is a system namespace and can never be a tenant namespace"
	case name == c.OperatorNamespace && name != "":
		return "namespace " + name + " is the Tenantry operator's own and can never be a tenant namespace"
	case ns != nil && ns.Labels[tenantryv1alpha1.ProtectedLabel] == "true":
		return "namespace " + name + " is labelled " + tenantryv1alpha1.ProtectedLabel + "=true and can never be a tenant namespace"
	case slices.Contains(c.ProtectedNamespaces, name):
		return "namespace " + name + " is protected (--protected-namespaces) and can never be a tenant namespace"
	case ns != nil && c.ProtectedNamespaceSelector != nil && !c.ProtectedNamespaceSelector.Empty() &&
		c.ProtectedNamespaceSelector.Matches(labels.Set(ns.Labels)):
		return "namespace " + name + " is protected (--protected-namespace-selector) and can never be a tenant namespace"
	}
	return ""
}

// nsVerdict is what the operator may do with one listed namespace.
type nsVerdict struct {
	phase   tenantryv1alpha1.NamespacePhase
	message string
	// manage: apply the namespace (create, adopt, or keep in line).
	manage bool
	// adopt: it exists and is not yet this Tenant's; record what adoption
	// overwrites before taking it.
	adopt bool
	// protected: it can never be a tenant namespace.
	protected bool
}

// classifyNamespace decides, from the namespace as stored (nil when absent)
// and its protection, whether the tenant may manage it. Ownership is proven
// by the Tenant's UID on the namespace, never by the name label alone: a
// namespace labelled for a Tenant of this name but another UID was left by
// an earlier Tenant, and is adopted only under adoptionPolicy IfUnowned.
func classifyNamespace(e *effective.Tenant, ns *corev1.Namespace, wasActive bool, protected string) nsVerdict {
	if protected != "" {
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict, message: protected, protected: true}
	}
	if ns == nil {
		return nsVerdict{phase: tenantryv1alpha1.NamespacePending, manage: true}
	}
	owner, labelled := ns.Labels[tenantryv1alpha1.TenantLabel]
	uid := cache.OwnerOf(ns)
	ifUnowned := e.Spec.AdoptionPolicy == tenantryv1alpha1.AdoptionPolicyIfUnowned
	active := nsVerdict{phase: tenantryv1alpha1.NamespaceActive, manage: true}
	adopt := nsVerdict{phase: tenantryv1alpha1.NamespaceActive, manage: true, adopt: true}
	switch {
	case labelled && owner != e.Name:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace belongs to tenant %s", owner)}
	case !ns.DeletionTimestamp.IsZero():
		return nsVerdict{phase: tenantryv1alpha1.NamespaceTerminating, message: "namespace is being deleted"}
	case uid == e.UID && (labelled || wasActive):
		// Ours; without the label it is drift (someone stripped it).
		return active
	case labelled && uid == "" && wasActive:
		// Managed by a version of Tenantry that did not mark UIDs: what it
		// was before is unknown, so it is taken as adopted (never deleted).
		return adopt
	case ifUnowned:
		return adopt
	case labelled && uid != "":
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace was left by an earlier Tenant named %s (uid %s); set adoptionPolicy: IfUnowned to adopt it", owner, uid)}
	case labelled:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace carries the label of tenant %s but Tenantry did not create or adopt it for this Tenant; set adoptionPolicy: IfUnowned to adopt it", owner)}
	default:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: "namespace exists and is not managed by Tenantry; set adoptionPolicy: IfUnowned to adopt it"}
	}
}

// namespaces decides every listed namespace. A conflict or a protected
// namespace stalls the Tenant, but the other namespaces are still planned.
func (b *builder) namespaces() {
	var conflicts, protected []string
	for _, spec := range b.e.Spec.Namespaces {
		b.planNamespace(spec, nil, &conflicts, &protected)
	}
	for _, c := range b.accepted {
		b.planNamespace(tenantryv1alpha1.TenantNamespace{Name: c.Name}, c, &conflicts, &protected)
	}
	if len(protected) > 0 {
		b.stall(tenantryv1alpha1.ReasonNamespaceProtected, "Protected namespaces are never tenant namespaces: "+joinSorted(protected)+"; nothing was labelled or adopted there")
	}
	if len(conflicts) > 0 {
		b.stall(tenantryv1alpha1.ReasonNamespaceConflict, "Namespace conflict: "+joinSorted(conflicts))
	}
}

// planNamespace plans one namespace, of the spec or (claim not nil) of an
// accepted claim, and tallies its verdict.
func (b *builder) planNamespace(spec tenantryv1alpha1.TenantNamespace, claim *tenantryv1alpha1.NamespaceClaim, conflicts, protected *[]string) {
	st, isProtected := b.namespace(spec, claim)
	switch {
	case isProtected:
		*protected = append(*protected, spec.Name)
	case st.Phase == tenantryv1alpha1.NamespaceActive:
		b.p.Active = append(b.p.Active, spec.Name)
	case st.Phase == tenantryv1alpha1.NamespaceConflict:
		*conflicts = append(*conflicts, fmt.Sprintf("%s (%s)", spec.Name, st.Message))
	default:
		b.p.Progressing = append(b.p.Progressing, "namespace "+spec.Name)
	}
	b.p.Namespaces = append(b.p.Namespaces, st)
}

// namespace plans one listed namespace and returns its status once the
// plan's writes succeed, and whether it is protected.
func (b *builder) namespace(spec tenantryv1alpha1.TenantNamespace, claim *tenantryv1alpha1.NamespaceClaim) (tenantryv1alpha1.NamespaceStatus, bool) {
	name := spec.Name
	on := b.obs.Namespaces[name]
	v := classifyNamespace(b.e, on.Object, b.wasActive[name], b.cfg.Protection(name, on.Object))
	st := tenantryv1alpha1.NamespaceStatus{Name: name, Phase: v.phase, Message: v.message}
	if !v.manage {
		return st, v.protected
	}
	d, inputs := render.Namespace(b.e, spec, b.granted), b.namespaceInputs()
	if claim != nil {
		// Only a namespace Tenantry creates is ever a claim's: the claims
		// verdict left nothing else, and the fence refuses the rest.
		st.Claim, v.adopt = ClaimKey(claim), false
		d, inputs = render.ClaimedNamespace(b.e, claim, b.granted), claimInputs(inputs, claim)
	}
	if msg, refused := b.obs.Refused[name]; refused {
		b.desired[d.Key()] = true
		st.Phase, st.Message = tenantryv1alpha1.NamespacePending, "the API server refused the namespace: "+msg
		return st, false
	}
	var live client.Object // stays a nil interface when the namespace is absent
	if on.Object != nil {
		live = on.Object
	}
	// Read past a cache that lags (a new namespace, informers relisting
	// after an API server outage), a namespace with our label is still
	// ours: only a missing label is a relabelling.
	res := b.ensure(d, live, on.Cached || isTenants(live, b.e.Name), inputs)
	if res.pending {
		return st, false
	}
	if a := res.action; a != nil {
		a.Created = on.Object == nil
		if v.adopt {
			a.Op, a.Why = OpAdopt, "adopt"
		}
		b.p.Actions = append(b.p.Actions, *a)
	}
	switch {
	case !res.exists:
		st.Phase, st.Message = tenantryv1alpha1.NamespacePending, "namespace is missing; driftPolicy Report leaves it so"
	case on.Object != nil && !on.Object.DeletionTimestamp.IsZero():
		st.Phase, st.Message = tenantryv1alpha1.NamespaceTerminating, "namespace is being deleted"
	default:
		st.Phase, st.Message = tenantryv1alpha1.NamespaceActive, b.adoptedMessage(name)
		if on.Object != nil && !v.adopt {
			b.inventory(name, on.Object)
		}
		if e, ok := b.p.Inventory[name]; ok && e.Claim != st.Claim {
			e.Claim = st.Claim // a claimed namespace listed in the spec since
			b.p.Inventory[name] = e
		}
	}
	return st, false
}

// inventory enters a namespace that existed before this pass and is proven
// the Tenant's in the inventory, when it is not there yet: a pass that
// created or adopted it ended before its status write. Created only on
// positive evidence, read whole: no adoption record, and no writer but
// Tenantry ever. Anything else is taken as adopted, so that a lost status
// write can never make an adopted namespace deletable (at worst, one
// Tenantry created is released, not deleted).
func (b *builder) inventory(name string, ns *corev1.Namespace) {
	if e, ok := b.p.Inventory[name]; ok && e.UID == ns.UID && ns.UID != "" {
		return
	}
	full, read := b.obs.Full[kinds.Key(kinds.Namespace, "", name)]
	if !read {
		b.confirm(kinds.Namespace, "", name)
		return
	}
	if full == nil {
		return
	}
	origin := tenantryv1alpha1.NamespaceAdopted
	if _, adopted := full.GetAnnotations()[tenantryv1alpha1.AdoptedAnnotation]; !adopted && OnlyTenantryWrote(full) {
		origin = tenantryv1alpha1.NamespaceCreated
	}
	b.p.Inventory[name] = tenantryv1alpha1.InventoryEntry{Name: name, UID: full.GetUID(), Origin: origin,
		Claim: full.GetAnnotations()[tenantryv1alpha1.ClaimAnnotation]}
}

// OnlyTenantryWrote: no field manager but Tenantry's main one has written
// the object (its adoption and release managers mean it was adopted).
func OnlyTenantryWrote(obj client.Object) bool {
	mfs := obj.GetManagedFields()
	for _, mf := range mfs {
		if mf.Manager != tenantryv1alpha1.FieldManager {
			return false
		}
	}
	return len(mfs) > 0
}

// adoptedMessage is the status message an Active namespace keeps: the note
// made when it was adopted, while it stays adopted.
func (b *builder) adoptedMessage(name string) string {
	if e, ok := b.p.Inventory[name]; !ok || e.Origin != tenantryv1alpha1.NamespaceAdopted {
		return ""
	}
	for _, st := range b.obs.Status.Namespaces {
		if st.Name == name && strings.HasPrefix(st.Message, AdoptedPrefix) {
			return st.Message
		}
	}
	return AdoptedPrefix
}

// provenOurs: the namespace carries this Tenant's label and UID.
func provenOurs(e *effective.Tenant, ns client.Object) bool {
	return ns != nil && isTenants(ns, e.Name) && cache.OwnerOf(ns) == e.UID
}

// UnprovenMessage says why an object labelled for the Tenant is not taken for its.
func UnprovenMessage(tenant string, owner types.UID) string {
	if owner == "" {
		return fmt.Sprintf("carries the label of tenant %s but Tenantry did not make it for this Tenant; never modified or deleted", tenant)
	}
	return fmt.Sprintf("made for an earlier Tenant named %s (uid %s); never modified or deleted", tenant, owner)
}

func joinSorted(items []string) string {
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	return strings.Join(sorted, ", ")
}
