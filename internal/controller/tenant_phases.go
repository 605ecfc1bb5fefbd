package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// normalPhases reconcile a live Tenant.
func (r *TenantReconciler) normalPhases() []phase {
	return []phase{
		r.preflight,
		r.checkClusterRoles,
		r.reconcileNamespaces,
		r.reconcileChildren,
		r.reconcileClusterRBAC,
		r.prune,
		r.releaseNamespaces,
	}
}

// deletePhases release or delete everything of a deleted Tenant, then let it go.
func (r *TenantReconciler) deletePhases() []phase {
	return []phase{r.markDeleting, r.prune, r.releaseNamespaces, r.removeFinalizer}
}

// checkClusterRoles stalls the Tenant when it asks to bind a ClusterRole the
// operator may not bind; then no role binding is created or changed.
func (r *TenantReconciler) checkClusterRoles(_ context.Context, s *scope) error {
	forbidden := render.ForbiddenClusterRoles(s.tenant, s.opts, r.Config.AllowedClusterRoles)
	if len(forbidden) == 0 {
		return nil
	}
	s.bindRoles = false
	s.stall(tenantryv1alpha1.ReasonClusterRoleNotAllowed, fmt.Sprintf(
		"ClusterRole %s not allowed: this operator binds only %s (--allowed-cluster-roles); no role binding was created or changed",
		strings.Join(forbidden, ", "), strings.Join(r.Config.AllowedClusterRoles, ", ")))
	return nil
}

// reconcileChildren ensures quotas, limit range, bindings and policies in
// every Active namespace.
func (r *TenantReconciler) reconcileChildren(ctx context.Context, s *scope) error {
	for _, ns := range s.active {
		if err := r.ensureEach(ctx, s, render.Children(s.tenant, ns, s.opts, s.bindRoles)); err != nil {
			return err
		}
	}
	return nil
}

// reconcileClusterRBAC ensures the per-tenant ClusterRole and binding, which
// name only the namespaces that are Active for this tenant.
func (r *TenantReconciler) reconcileClusterRBAC(ctx context.Context, s *scope) error {
	return r.ensureEach(ctx, s, render.ClusterRBAC(s.tenant, s.active))
}

// ensureEach ensures every object. One the API server refuses does not stop
// the rest, which are still reconciled and repaired; it is reported by name
// (objectErrors) at the end of the pass. A transient error ends the pass:
// the next objects would fail the same way.
func (r *TenantReconciler) ensureEach(ctx context.Context, s *scope, objs []render.Object) error {
	for _, d := range objs {
		err := r.ensureCached(ctx, s, d)
		switch {
		case err == nil:
		case isTransient(err) || apierrors.IsConflict(err):
			return err
		default:
			s.failed = append(s.failed, err)
		}
	}
	return nil
}

func (r *TenantReconciler) markDeleting(_ context.Context, s *scope) error {
	s.outcome.deleting = true
	return nil
}

// prune removes what is this tenant's but no longer desired: namespaces
// that left the spec (released or deleted per deletionPolicy and origin),
// then children in them and children the spec dropped. Only what is proven
// ours is touched: namespaces by the inventory and the Tenant's UID,
// children by their controller reference to this Tenant.
func (r *TenantReconciler) prune(ctx context.Context, s *scope) error {
	deps, err := r.departures(ctx, s)
	if err != nil {
		return err
	}
	s.departing = deps
	deleting, err := r.deleteNamespaces(ctx, s)
	if err != nil {
		return err
	}
	listed := s.listedNamespaces()
	for _, obj := range managedTypes()[1:] {
		items, err := r.listTenantObjects(ctx, obj, s.tenant.Name)
		if err != nil {
			return err
		}
		for _, item := range items {
			if !r.shouldPrune(s, item, listed, deleting) {
				continue
			}
			uid := item.GetUID()
			if err := r.Client.Delete(ctx, item, client.Preconditions{UID: uidPtr(uid)}); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete %s %s/%s: %w", kindName(item), item.GetNamespace(), item.GetName(), err)
			}
			s.writes++
			logf.FromContext(ctx).Info("Deleted "+kindName(item), "namespace", item.GetNamespace(), "name", item.GetName())
		}
	}
	return nil
}

// uidPtr is a delete precondition's UID; none for a cached copy without one.
func uidPtr(uid types.UID) *types.UID {
	if uid == "" {
		return nil
	}
	return &uid
}

// shouldPrune: an object is kept when desired, when it is a role binding the
// Tenant is stalled on, or when its namespace is listed but not ours right
// now (in conflict, terminating): we do not act on what we cannot see whole.
// Namespaces Tenantry is deleting take their content with them. An object
// that carries our label but was not made for this Tenant is reported, never
// deleted.
func (r *TenantReconciler) shouldPrune(s *scope, item client.Object, listed, deleting map[string]bool) bool {
	key := render.ObjectKey(kindName(item), item.GetNamespace(), item.GetName())
	switch {
	case s.desired[key]:
		return false
	case kindName(item) == render.KindRoleBinding && !s.bindRoles:
		return false
	case item.GetNamespace() != "" && listed[item.GetNamespace()] && !slices.Contains(s.active, item.GetNamespace()):
		return false
	case deleting[item.GetNamespace()]:
		return false
	case cachedOwnerUID(item) != s.tenant.UID:
		s.conflict(kindName(item), item.GetNamespace(), item.GetName(), unprovenMessage(s.tenant, cachedOwnerUID(item)))
		return false
	}
	return true
}

// deleteNamespaces deletes the departing namespaces that Tenantry created,
// when the deletionPolicy is Delete (the rest are released after their
// children are pruned), pinned to the UID in the inventory. It returns the
// namespaces being deleted; while any exists, a deleted Tenant keeps its
// finalizer.
func (r *TenantReconciler) deleteNamespaces(ctx context.Context, s *scope) (map[string]bool, error) {
	deleting := map[string]bool{}
	for _, d := range s.departing {
		if !d.deletes(s.tenant) {
			continue
		}
		deleting[d.name] = true
		if s.outcome.deleting {
			s.outcome.progressing = append(s.outcome.progressing, "namespace "+d.name)
		}
		ns, _, err := r.getNamespace(ctx, d.name)
		if err != nil {
			return nil, err
		}
		if ns == nil || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Client.Delete(ctx, ns, client.Preconditions{UID: &d.uid}); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("delete Namespace %s: %w", d.name, err)
		}
		s.writes++
		logf.FromContext(ctx).Info("Deleted Namespace", "namespace", d.name)
	}
	return deleting, nil
}

// releaseNamespaces gives up Tenantry's labels and annotations on departing
// namespaces that are not being deleted, and puts back what adoption
// overwrote. It runs after the children in them were pruned, so a released
// namespace is left whole and unmanaged, never half-managed.
func (r *TenantReconciler) releaseNamespaces(ctx context.Context, s *scope) error {
	for _, d := range s.departing {
		if d.deletes(s.tenant) {
			continue
		}
		if _, err := r.apply(ctx, s, render.ReleasedNamespace(d.name)); err != nil {
			return err
		}
		if err := r.restoreAdopted(ctx, s, d.name); err != nil {
			return err
		}
		delete(s.inventory, d.name)
		logf.FromContext(ctx).Info("Released Namespace", "namespace", d.name, "origin", d.origin)
	}
	return nil
}

// removeFinalizer lets a deleted Tenant go once no namespace of it is left
// being deleted.
func (r *TenantReconciler) removeFinalizer(ctx context.Context, s *scope) error {
	if len(s.outcome.progressing) > 0 || !controllerutil.ContainsFinalizer(s.tenant, tenantryv1alpha1.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(s.tenant.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(s.tenant, tenantryv1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, s.tenant, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	s.writes++
	s.finalized = true
	r.forgetTenant(s.tenant.Name)
	logf.FromContext(ctx).Info("Removed finalizer; Tenant released its namespaces")
	return nil
}

// listTenantObjects lists, from the cache's tenant index, the objects of
// obj's kind labelled for tenant: the cached copies themselves, which the
// caller must not modify.
func (r *TenantReconciler) listTenantObjects(ctx context.Context, obj client.Object, tenant string) ([]client.Object, error) {
	return tenantObjects(ctx, r.informers, obj, tenant)
}

func joinSorted(items []string) string {
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	return strings.Join(sorted, ", ")
}
