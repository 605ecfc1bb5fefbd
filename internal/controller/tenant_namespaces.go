package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// appliedByTenantry reports whether field manager tenantry still owns fields
// of the object, i.e. it was applied by us and not released.
func appliedByTenantry(obj client.Object) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == tenantryv1alpha1.FieldManager {
			return true
		}
	}
	return false
}

// getNamespace reads a namespace from the cache, which holds only labelled
// namespaces, then from the API server for an unlabelled or new one (the
// one place the reconciler reads uncached on its normal path).
func (r *TenantReconciler) getNamespace(ctx context.Context, name string) (*corev1.Namespace, bool, error) {
	ns := &corev1.Namespace{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	if err == nil {
		return ns, true, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, false, err
	}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return ns, false, nil
}

// reconcileNamespaces classifies and applies every listed namespace. A
// conflict or a protected namespace stalls the Tenant but the other
// namespaces are still reconciled.
func (r *TenantReconciler) reconcileNamespaces(ctx context.Context, s *scope) error {
	t := s.tenant
	var conflicts, protected []string
	for _, spec := range t.Spec.Namespaces {
		ns, cached, err := r.getNamespace(ctx, spec.Name)
		if err != nil {
			return err
		}
		v := classifyNamespace(t, ns, s.wasActive[spec.Name], r.protection(spec.Name, ns))
		status := tenantryv1alpha1.NamespaceStatus{Name: spec.Name, Phase: v.phase, Message: v.message}
		adopted := ""
		if v.manage {
			if v.adopt {
				if adopted, err = r.recordAdoption(ctx, s, spec.Name); err != nil {
					return err
				}
			}
			desired := render.Namespace(t, spec)
			s.desired[desired.Key()] = true
			var live client.Object // stays a nil interface when the namespace is absent
			if ns != nil {
				live = ns
			}
			// Read past a cache that lags (a new namespace, informers
			// relisting after an API server outage), a namespace with our
			// label is still ours: only a missing label is a relabelling.
			res, err := r.ensure(ctx, s, desired, live, cached || (ns != nil && isTenants(ns, t.Name)))
			switch {
			case err == nil:
				status.Phase, status.Message = namespacePhase(res)
			case isTransient(err) || apierrors.IsConflict(err):
				return err
			default:
				// Refused: reported for this namespace; the others go on.
				s.failed = append(s.failed, err)
				status.Phase, status.Message = tenantryv1alpha1.NamespacePending, "the API server refused the namespace: "+errorMessage(err)
			}
			if res.exists {
				if err := r.recordInventory(ctx, s, spec.Name, ns, res, v); err != nil {
					return err
				}
			}
			if status.Phase == tenantryv1alpha1.NamespaceActive {
				status.Message = adopted
				if adopted == "" {
					status.Message = adoptedMessage(s, spec.Name)
				}
			}
		}
		switch {
		case v.protected:
			protected = append(protected, spec.Name)
		case status.Phase == tenantryv1alpha1.NamespaceActive:
			s.active = append(s.active, spec.Name)
		case status.Phase == tenantryv1alpha1.NamespaceConflict:
			conflicts = append(conflicts, fmt.Sprintf("%s (%s)", spec.Name, status.Message))
		default:
			s.outcome.progressing = append(s.outcome.progressing, "namespace "+spec.Name)
		}
		s.outcome.namespaces = append(s.outcome.namespaces, status)
	}
	if len(protected) > 0 {
		s.stall(tenantryv1alpha1.ReasonNamespaceProtected, "Protected namespaces are never tenant namespaces: "+joinSorted(protected)+"; nothing was labelled or adopted there")
	}
	if len(conflicts) > 0 {
		s.stall(tenantryv1alpha1.ReasonNamespaceConflict, "Namespace conflict: "+joinSorted(conflicts))
	}
	return nil
}

// namespacePhase reads the phase of a managed namespace after ensure.
func namespacePhase(res ensureResult) (tenantryv1alpha1.NamespacePhase, string) {
	switch {
	case !res.exists:
		return tenantryv1alpha1.NamespacePending, "namespace is missing; driftPolicy Report leaves it so"
	case res.terminating:
		return tenantryv1alpha1.NamespaceTerminating, "namespace is being deleted"
	default:
		return tenantryv1alpha1.NamespaceActive, ""
	}
}
