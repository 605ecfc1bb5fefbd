package plan

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/kinds"
)

// departure is a namespace of this Tenant that is no longer listed.
type departure struct {
	name   string
	uid    types.UID
	origin tenantryv1alpha1.NamespaceOrigin
	// claim is the claim the namespace was created for (the inventory's).
	claim string
}

// deletes: the namespace is deleted rather than released. Only a namespace
// Tenantry created is ever deleted; an adopted one is released.
func (d departure) deletes(policy tenantryv1alpha1.DeletionPolicy) bool {
	return d.origin == tenantryv1alpha1.NamespaceCreated && policy == tenantryv1alpha1.DeletionPolicyDelete
}

// policy is the deletion policy a departing namespace follows: the
// Tenant's, unless it leaves because its claim is gone while the Tenant
// stays. Then it is selfService.deletionPolicy, whether the claim was
// deleted alone or with the namespace it was in (the contract: "the same
// happens"; Retain by default, so by default nothing cascades). Delete
// applies only to a namespace made for that very claim (its claim
// annotation is the inventory's), and only while the claim's own
// namespace is still this Tenant's or gone: a claim whose namespace left
// the Tenant (released, relabelled, replaced) is no longer its claim.
func (b *builder) policy(d departure) tenantryv1alpha1.DeletionPolicy {
	if d.claim == "" || b.obs.Deleting {
		return b.e.Spec.DeletionPolicy
	}
	ss := b.e.Spec.SelfService
	if ss == nil || ss.DeletionPolicy != tenantryv1alpha1.DeletionPolicyDelete {
		return tenantryv1alpha1.DeletionPolicyRetain
	}
	if ns := b.obs.Namespaces[d.name].Object; ns == nil || ns.Annotations[tenantryv1alpha1.ClaimAnnotation] != d.claim {
		return tenantryv1alpha1.DeletionPolicyRetain
	}
	host, _, _ := strings.Cut(d.claim, "/")
	hostNs, known := b.hostNamespace(host)
	if !known || hostNs != nil && hostNs.DeletionTimestamp.IsZero() && !provenOurs(b.e, hostNs) {
		return tenantryv1alpha1.DeletionPolicyRetain
	}
	return tenantryv1alpha1.DeletionPolicyDelete
}

// hostNamespace is the namespace a claim was in, nil when it is gone.
// Gather observes the host of every inventory claim; a namespace entering
// the inventory in this pass has its host read whole first (known false
// until then, and nothing is decided on that plan).
func (b *builder) hostNamespace(name string) (*corev1.Namespace, bool) {
	if on, seen := b.obs.Namespaces[name]; seen {
		return on.Object, true
	}
	full, read := b.obs.Full[kinds.Key(kinds.Namespace, "", name)]
	if !read {
		b.confirm(kinds.Namespace, "", name)
		return nil, false
	}
	ns, _ := full.(*corev1.Namespace)
	return ns, true
}

// prune plans the removal of what is this tenant's but no longer desired:
// namespaces that left the spec (deleted or released per deletionPolicy and
// origin), children in them and children the spec dropped. Only what is
// proven ours is touched: namespaces by the inventory and the Tenant's UID,
// children by their controller reference to this Tenant. Releases come
// last, once the children in them are gone, so a released namespace is
// left whole and unmanaged, never half-managed.
func (b *builder) prune() {
	listed := b.listed()
	deleting := map[string]bool{}
	var releases []Action
	for _, d := range b.departures(listed) {
		target := Ref{Kind: kinds.Namespace, Name: d.name, UID: d.uid}
		policy := b.policy(d)
		if !d.deletes(policy) {
			releases = append(releases, Action{Op: OpRelease, Target: target, Exists: true,
				Why: "no longer listed; " + string(d.origin) + " namespaces are " + releasedWhy(d, policy)})
			continue
		}
		deleting[d.name] = true
		if b.obs.Deleting {
			b.p.Progressing = append(b.p.Progressing, "namespace "+d.name)
		}
		if ns := b.obs.Namespaces[d.name].Object; ns == nil || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		b.p.Actions = append(b.p.Actions, Action{Op: OpDelete, Target: target, Exists: true,
			Why: "no longer listed; Tenantry created it and deletionPolicy is Delete: everything in it is deleted"})
	}
	active := map[string]bool{}
	for _, ns := range b.p.Active {
		active[ns] = true
	}
	for _, key := range slices.Sorted(maps.Keys(b.obs.Objects)) {
		item := b.obs.Objects[key]
		k := kinds.Of(item)
		ns := item.GetNamespace()
		switch {
		case b.desired[key]:
		case k.Name == kinds.RoleBinding && !b.bindRoles:
			// Stalled on a forbidden ClusterRole: bindings stay as they are.
		case ns != "" && listed[ns] && !active[ns]:
			// Listed but not ours right now (in conflict, terminating): we
			// do not act on what we cannot see whole.
		case deleting[ns]:
			// Its namespace takes it along.
		case cache.OwnerOf(item) != b.e.UID:
			b.conflict(k.Name, ns, item.GetName(), UnprovenMessage(b.e.Name, cache.OwnerOf(item)))
		default:
			b.p.Actions = append(b.p.Actions, Action{Op: OpDelete, Exists: true, Why: "no longer in the spec",
				Target: Ref{Kind: k.Name, Namespace: ns, Name: item.GetName(), UID: item.GetUID()}})
		}
	}
	b.p.Actions = append(b.p.Actions, releases...)
}

func releasedWhy(d departure, policy tenantryv1alpha1.DeletionPolicy) string {
	if d.origin == tenantryv1alpha1.NamespaceAdopted {
		return "released, never deleted"
	}
	return "released under deletionPolicy " + string(policy)
}

// departures finds the Tenant's namespaces that are not listed (all of them
// once it is being deleted): those in the inventory, and those proven ours
// that a pass ending early left out of it. A namespace that is gone, or no
// longer (or never) proven ours, leaves the inventory and is not touched;
// one carrying this Tenant's label without its UID is reported.
func (b *builder) departures(listed map[string]bool) []departure {
	names := map[string]bool{}
	for name := range b.p.Inventory {
		if !listed[name] {
			names[name] = true
		}
	}
	for name, on := range b.obs.Namespaces {
		switch {
		case listed[name] || !on.Cached || !isTenants(on.Object, b.e.Name):
		case cache.OwnerOf(on.Object) != b.e.UID:
			b.conflict(kinds.Namespace, "", name, UnprovenMessage(b.e.Name, cache.OwnerOf(on.Object)))
		default:
			names[name] = true
		}
	}
	var out []departure
	for _, name := range slices.Sorted(maps.Keys(names)) {
		ns := b.obs.Namespaces[name].Object
		entry, inInventory := b.p.Inventory[name]
		switch {
		case ns == nil:
			delete(b.p.Inventory, name)
			continue
		case !provenOurs(b.e, ns) || inInventory && ns.UID != entry.UID:
			delete(b.p.Inventory, name)
			if isTenants(ns, b.e.Name) {
				b.conflict(kinds.Namespace, "", name, UnprovenMessage(b.e.Name, cache.OwnerOf(ns)))
			}
			continue
		case !inInventory:
			b.inventory(name, ns)
			if entry, inInventory = b.p.Inventory[name]; !inInventory {
				continue
			}
		}
		out = append(out, departure{name: name, uid: entry.UID, origin: entry.Origin, claim: entry.Claim})
	}
	return out
}
