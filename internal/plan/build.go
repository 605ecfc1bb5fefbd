package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/internal/status"
)

// builder holds one plan while it is made.
type builder struct {
	e   *effective.Tenant
	obs *Observed
	cfg Config
	p   *Plan

	// observed: the last successful pass applied this effective spec, so
	// every desired object should exist and a missing one is drift.
	observed bool
	// wasActive are the namespaces the last pass reported Active.
	wasActive map[string]bool
	// bindRoles is false when a ClusterRole is not allowed: no binding is
	// created or changed, and none is pruned.
	bindRoles bool
	// desired are the keys of every object the plan wants.
	desired map[string]bool
	// granted are the Tenant's hostnames no earlier Tenant holds.
	granted []string
	// accepted are the claims that get (or have) their namespace, in
	// acceptance order; claimChanged names those whose spec the last
	// status did not observe, so a difference is a change, not drift.
	accepted     []*tenantryv1alpha1.NamespaceClaim
	claimChanged map[string]bool
	// shares are the Tenant-scope quotas' shares, by key; quotaWait names,
	// per namespace, a Tenant-scope quota admission does not enforce yet.
	shares    map[string]*share
	quotaWait map[string]string
	// initial: the plan lists what a Tenant gets (Initial), whatever
	// it would wait for.
	initial bool
}

func newBuilder(e *effective.Tenant, obs *Observed, cfg Config) *builder {
	b := &builder{
		e: e, obs: obs, cfg: cfg,
		p: &Plan{
			Inputs: e.Hash, Deleting: obs.Deleting,
			Inventory: maps.Clone(obs.Inventory),
		},
		observed:     e.Observed(obs.Status),
		wasActive:    map[string]bool{},
		bindRoles:    true,
		desired:      map[string]bool{},
		claimChanged: map[string]bool{},
		shares:       map[string]*share{},
		quotaWait:    map[string]string{},
	}
	if b.p.Inventory == nil {
		b.p.Inventory = map[string]tenantryv1alpha1.InventoryEntry{}
	}
	for _, ns := range obs.Status.Namespaces {
		if ns.Phase == tenantryv1alpha1.NamespaceActive {
			b.wasActive[ns.Name] = true
		}
	}
	return b
}

func (b *builder) build() *Plan {
	if !b.obs.Deleting {
		if reason, message := classProblem(b.e); reason != "" {
			return b.halt(reason, message)
		}
		if len(b.obs.Preflight) > 0 {
			// Nothing of a refused spec is applied: no namespace, no object.
			refusals := slices.Sorted(slices.Values(b.obs.Preflight))
			return b.halt(tenantryv1alpha1.ReasonInvalidSpec, "The API server refuses "+strings.Join(refusals, "; ")+"; nothing of this spec was applied")
		}
		b.checkClusterRoles()
		b.hostnames()
		b.claims()
		b.namespaces()
		b.tenantQuotas()
		b.claimVerdictPhases()
		for _, ns := range b.p.Active {
			b.ensureChildren(ns)
		}
		b.shrinksFirst()
		// The per-tenant ClusterRole names the Active namespaces: they are
		// part of what it was rendered from.
		b.ensureEach(render.ClusterRBAC(b.e, b.p.Active), clusterRBACInputs(b.e.Hash, b.p.Active))
	}
	b.prune()
	b.p.Finalize = b.obs.Deleting && len(b.p.Progressing) == 0 && len(b.p.Confirm) == 0
	return b.p
}

// clusterRBACInputs are the inputs of the per-tenant ClusterRole and binding.
func clusterRBACInputs(hash string, active []string) string {
	return hash + "/" + strings.Join(active, ",")
}

// checkClusterRoles stalls the Tenant when it asks to bind a ClusterRole the
// operator may not bind; then no role binding is created or changed.
func (b *builder) checkClusterRoles() {
	forbidden := ForbiddenClusterRoles(b.e, b.cfg.AllowedClusterRoles)
	if len(forbidden) == 0 {
		return
	}
	b.bindRoles = false
	b.stall(tenantryv1alpha1.ReasonClusterRoleNotAllowed, fmt.Sprintf(
		"ClusterRole %s not allowed: this operator binds only %s (--allowed-cluster-roles); no role binding was created or changed",
		strings.Join(forbidden, ", "), strings.Join(b.cfg.AllowedClusterRoles, ", ")))
}

// ForbiddenClusterRoles returns, sorted, the ClusterRoles e asks to bind that
// are not in allowed.
func ForbiddenClusterRoles(e *effective.Tenant, allowed []string) []string {
	var forbidden []string
	for _, role := range e.ClusterRoles() {
		if !slices.Contains(allowed, role) {
			forbidden = append(forbidden, role)
		}
	}
	return forbidden
}

// halt stalls the Tenant as a whole: nothing is applied or pruned, and
// each of its claims is told why.
func (b *builder) halt(reason, message string) *Plan {
	b.stall(reason, message)
	b.p.Halted = true
	b.haltedClaims(reason, message)
	return b.p
}

func (b *builder) stall(reason, message string) {
	b.p.Stalled = append(b.p.Stalled, status.Problem{Reason: reason, Message: message})
}

func (b *builder) confirm(kind, namespace, name string) {
	b.p.Confirm = append(b.p.Confirm, Ref{Kind: kind, Namespace: namespace, Name: name})
}

// conflict reports an object carrying the Tenant's label without proof.
func (b *builder) conflict(kind, namespace, name, message string) {
	b.p.Conflicts = append(b.p.Conflicts, tenantryv1alpha1.ObjectConflict{
		Kind: kind, Namespace: namespace, Name: name, Message: message})
}

// listed are the namespaces the Tenant keeps: those in its spec and those
// of accepted claims, none once it is being deleted.
func (b *builder) listed() map[string]bool {
	listed := map[string]bool{}
	if !b.obs.Deleting {
		for _, ns := range b.e.Spec.Namespaces {
			listed[ns.Name] = true
		}
		for _, c := range b.accepted {
			listed[c.Name] = true
		}
	}
	return listed
}

// expectExisting says whether d should already exist, so that its absence
// or difference is drift rather than a creation or a spec change.
func (b *builder) expectExisting(d render.Object) bool {
	if !b.observed {
		return false
	}
	switch {
	case d.Kind == kinds.Namespace:
		return b.wasActive[d.Name] && !b.claimChanged[d.Name]
	case d.Namespace != "":
		return b.wasActive[d.Namespace]
	default:
		// The cluster RBAC names the Active namespaces: a claimed one
		// arriving or leaving changes it without a new generation.
		return !b.claimedActiveChanged()
	}
}

// claimedActiveChanged: the Active claimed namespaces differ from those
// the last status reported.
func (b *builder) claimedActiveChanged() bool {
	before := map[string]bool{}
	for _, st := range b.obs.Status.Namespaces {
		if st.Claim != "" && st.Phase == tenantryv1alpha1.NamespaceActive {
			before[st.Name] = true
		}
	}
	now := 0
	for _, st := range b.p.Namespaces {
		if st.Claim != "" && st.Phase == tenantryv1alpha1.NamespaceActive {
			if !before[st.Name] {
				return true
			}
			now++
		}
	}
	return now != len(before)
}
