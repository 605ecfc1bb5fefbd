package controller

import (
	"context"
	"time"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// phase is one step of a reconcile pass. A phase records what it saw in the
// scope and returns an error only for transient failures worth a retry.
type phase func(ctx context.Context, s *scope) error

// scope is what one reconcile pass works on and gathers.
type scope struct {
	tenant *tenantryv1alpha1.Tenant
	opts   render.Options

	// specObserved: the last successful pass saw this generation, so every
	// desired object should exist already and a missing one is drift, not new.
	specObserved bool
	// wasActive are the namespaces the last pass reported Active.
	wasActive map[string]bool

	// bindRoles is false when a ClusterRole is not allowed: no binding is made.
	bindRoles bool
	// active are the spec namespaces that are the tenant's and in place.
	active []string
	// desired holds the key of every object this pass wants, for pruning.
	desired map[string]bool
	// failed are the objects the API server refused in this pass.
	failed []error
	// inventory is status.inventory as this pass leaves it.
	inventory map[string]tenantryv1alpha1.InventoryEntry
	// departing are the namespaces of this Tenant that are no longer listed.
	departing []departure
	// inputs identify what the desired objects were rendered from (verified.go).
	inputs string

	outcome      outcome
	requeueAfter time.Duration
	// writes counts the API writes of the pass (logged at debug level).
	writes int
	// finalized: the finalizer is gone; there is no status left to write.
	finalized bool
}

func (r *TenantReconciler) newScope(t *tenantryv1alpha1.Tenant) *scope {
	r.useLatestStatus(t)
	s := &scope{
		tenant:       t,
		opts:         r.renderOptions(),
		specObserved: t.Status.ObservedGeneration == t.Generation,
		wasActive:    map[string]bool{},
		bindRoles:    true,
		desired:      map[string]bool{},
		inventory:    inventoryOf(t.Status),
	}
	for _, ns := range t.Status.Namespaces {
		if ns.Phase == tenantryv1alpha1.NamespaceActive {
			s.wasActive[ns.Name] = true
		}
	}
	return s
}

// expectExisting says whether obj should already exist, so that its absence
// or difference is drift rather than a creation or a spec change.
func (s *scope) expectExisting(obj render.Object) bool {
	if !s.specObserved {
		return false
	}
	switch {
	case obj.Kind == render.KindNamespace:
		return s.wasActive[obj.Name]
	case obj.Namespace != "":
		return s.wasActive[obj.Namespace]
	default:
		return true
	}
}

// requeue asks for another pass after d at the latest.
func (s *scope) requeue(d time.Duration) {
	if d > 0 && (s.requeueAfter == 0 || d < s.requeueAfter) {
		s.requeueAfter = d
	}
}

func (s *scope) stall(reason, message string) {
	s.outcome.stalled = append(s.outcome.stalled, problem{reason: reason, message: message})
}

// listedNamespaces are the namespaces the Tenant keeps: those in its spec,
// none once it is being deleted.
func (s *scope) listedNamespaces() map[string]bool {
	listed := map[string]bool{}
	if !s.outcome.deleting {
		for _, ns := range s.tenant.Spec.Namespaces {
			listed[ns.Name] = true
		}
	}
	return listed
}
