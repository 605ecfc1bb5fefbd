package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// The inventory (status.inventory) is the Tenant's record of the namespaces
// Tenantry created or adopted for it. Only the operator writes Tenant status
// (the admission policy refuses everyone else), so with the Tenant's UID on
// each namespace it proves ownership where a label alone could be forged or
// left behind by an earlier Tenant of the same name.

// inventoryOf indexes a status inventory by namespace name.
func inventoryOf(st tenantryv1alpha1.TenantStatus) map[string]tenantryv1alpha1.InventoryEntry {
	m := make(map[string]tenantryv1alpha1.InventoryEntry, len(st.Inventory))
	for _, e := range st.Inventory {
		m[e.Name] = e
	}
	return m
}

// inventoryList is the inventory as status shows it, sorted by name.
func inventoryList(m map[string]tenantryv1alpha1.InventoryEntry) []tenantryv1alpha1.InventoryEntry {
	if len(m) == 0 {
		return nil
	}
	out := make([]tenantryv1alpha1.InventoryEntry, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out
}

// recordInventory enters a managed namespace in the inventory: Created only
// when this pass created it (it was absent, and the API server's answer to
// our apply shows no other writer), Adopted when it was adopted. A namespace
// proven ours but missing from the inventory was created or adopted by a
// pass that ended before its status write.
func (r *TenantReconciler) recordInventory(ctx context.Context, s *scope, name string, before *corev1.Namespace, res ensureResult, v nsVerdict) error {
	uid := res.uid
	if e, ok := s.inventory[name]; ok && e.UID == uid && uid != "" {
		return nil
	}
	origin := tenantryv1alpha1.NamespaceAdopted
	switch {
	case v.adopt:
	case before == nil:
		if res.soleWriter {
			origin = tenantryv1alpha1.NamespaceCreated
		}
	default:
		full := &corev1.Namespace{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, full); err != nil {
			return client.IgnoreNotFound(err)
		}
		// Created only on positive evidence: no adoption record, and no
		// writer but Tenantry ever. Anything else is taken as adopted, so
		// that a lost status write can never make an adopted namespace
		// deletable (at worst, one Tenantry created is released, not deleted).
		if _, adopted := full.Annotations[tenantryv1alpha1.AdoptedAnnotation]; !adopted && onlyTenantryWrote(full.ManagedFields) {
			origin = tenantryv1alpha1.NamespaceCreated
		}
		uid = full.UID
	}
	if uid == "" {
		return nil // the next pass sees it in the cache
	}
	s.inventory[name] = tenantryv1alpha1.InventoryEntry{Name: name, UID: uid, Origin: origin}
	return nil
}

// departure is a namespace of this Tenant that is no longer listed.
type departure struct {
	name   string
	uid    types.UID
	origin tenantryv1alpha1.NamespaceOrigin
}

// deletes: the namespace is deleted rather than released. Only a namespace
// Tenantry created is ever deleted; an adopted one is released.
func (d departure) deletes(t *tenantryv1alpha1.Tenant) bool {
	return d.origin == tenantryv1alpha1.NamespaceCreated && t.Spec.DeletionPolicy == tenantryv1alpha1.DeletionPolicyDelete
}

// departures finds the Tenant's namespaces that are not listed (all of them
// once it is being deleted): those in the inventory, and those proven ours
// that a pass ending early left out of it. A namespace that is gone, or no
// longer (or never) proven ours, leaves the inventory and is not touched;
// one carrying this Tenant's label without its UID is reported.
func (r *TenantReconciler) departures(ctx context.Context, s *scope) ([]departure, error) {
	listed := s.listedNamespaces()
	names := map[string]bool{}
	for name := range s.inventory {
		if !listed[name] {
			names[name] = true
		}
	}
	items, err := r.listTenantObjects(ctx, &corev1.Namespace{}, s.tenant.Name)
	if err != nil {
		return nil, err
	}
	for _, ns := range items {
		switch {
		case listed[ns.GetName()]:
		case cachedOwnerUID(ns) != s.tenant.UID:
			s.conflict(render.KindNamespace, "", ns.GetName(), unprovenMessage(s.tenant, cachedOwnerUID(ns)))
		default:
			names[ns.GetName()] = true
		}
	}
	var out []departure
	for _, name := range slices.Sorted(maps.Keys(names)) {
		ns, _, err := r.getNamespace(ctx, name)
		if err != nil {
			return nil, err
		}
		entry, inInventory := s.inventory[name]
		switch {
		case ns == nil:
			delete(s.inventory, name)
			continue
		case !provenOurs(s.tenant, ns) || inInventory && ns.UID != entry.UID:
			delete(s.inventory, name)
			if isTenants(ns, s.tenant.Name) {
				s.conflict(render.KindNamespace, "", name, unprovenMessage(s.tenant, cachedOwnerUID(ns)))
			}
			continue
		case !inInventory:
			if err := r.recordInventory(ctx, s, name, ns, resultOf(ns), nsVerdict{}); err != nil {
				return nil, err
			}
			if entry, inInventory = s.inventory[name]; !inInventory {
				continue
			}
		}
		out = append(out, departure{name: name, uid: entry.UID, origin: entry.Origin})
	}
	return out, nil
}

// unprovenMessage says why an object labelled for the Tenant is not taken for its.
func unprovenMessage(t *tenantryv1alpha1.Tenant, owner types.UID) string {
	if owner == "" {
		return fmt.Sprintf("carries the label of tenant %s but Tenantry did not make it for this Tenant; never modified or deleted", t.Name)
	}
	return fmt.Sprintf("made for an earlier Tenant named %s (uid %s); never modified or deleted", t.Name, owner)
}

// conflict reports an object carrying the Tenant's label without proof.
func (s *scope) conflict(kind, namespace, name, message string) {
	s.outcome.conflicts = append(s.outcome.conflicts, tenantryv1alpha1.ObjectConflict{
		Kind: kind, Namespace: namespace, Name: name, Message: message})
}

// maxConflicts caps status.conflicts (the CRD's MaxItems).
const maxConflicts = 20

// conflictList sorts and caps the conflicts for status.
func conflictList(cs []tenantryv1alpha1.ObjectConflict) []tenantryv1alpha1.ObjectConflict {
	if len(cs) == 0 {
		return nil
	}
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b tenantryv1alpha1.ObjectConflict) int {
		return strings.Compare(render.ObjectKey(a.Kind, a.Namespace, a.Name), render.ObjectKey(b.Kind, b.Namespace, b.Name))
	})
	out = slices.CompactFunc(out, func(a, b tenantryv1alpha1.ObjectConflict) bool {
		return a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name
	})
	if len(out) > maxConflicts {
		out = out[:maxConflicts]
	}
	return out
}
