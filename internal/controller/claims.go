package controller

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/status"
)

// claimMemory remembers, per Tenant, the status last written to each of
// its claims, so that a pass reading a claim the cache has not yet updated
// does not write the same status again.
type claimMemory struct {
	mu sync.Mutex
	m  map[string]map[types.UID]writtenClaim // tenant -> claim UID
}

type writtenClaim struct {
	resourceVersion uint64
	status          tenantryv1alpha1.NamespaceClaimStatus
}

// latest is the claim's status as last written, or as cached when the
// cache has caught up with that write.
func (m *claimMemory) latest(tenant string, c *tenantryv1alpha1.NamespaceClaim) tenantryv1alpha1.NamespaceClaimStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.m[tenant][c.UID]
	cached, err := strconv.ParseUint(c.ResourceVersion, 10, 64)
	if !ok || err != nil || cached >= w.resourceVersion {
		return c.Status
	}
	return w.status
}

func (m *claimMemory) store(tenant string, uid types.UID, rv string, st tenantryv1alpha1.NamespaceClaimStatus) {
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]map[types.UID]writtenClaim{}
	}
	if m.m[tenant] == nil {
		m.m[tenant] = map[types.UID]writtenClaim{}
	}
	m.m[tenant][uid] = writtenClaim{resourceVersion: n, status: st}
}

// keep forgets the claims of tenant not in live.
func (m *claimMemory) keep(tenant string, live map[types.UID]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid := range m.m[tenant] {
		if !live[uid] {
			delete(m.m[tenant], uid)
		}
	}
}

func (m *claimMemory) forget(tenant string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, tenant)
}

// writeClaims writes the status of each claim the plan decided, only when
// it changed: one write per claim transition, none on a pass that changes
// nothing. passErr (the pass's own error) keeps an accepted claim from
// being Ready.
func (r *TenantReconciler) writeClaims(ctx context.Context, t *tenantryv1alpha1.Tenant, p *plan.Plan, ex *execution, passErr error) error {
	if p == nil {
		return nil
	}
	now := metav1.NewTime(r.now())
	live := map[types.UID]bool{}
	for _, v := range p.Claims {
		c, ok := ex.claims[v.Key()]
		if !ok {
			continue
		}
		live[c.UID] = true
		if !v.Accepted {
			ex.requeue(stalledRetry) // what refused it may go away unseen (an unlabelled namespace)
		}
		prev := r.claims.latest(t.Name, c)
		st := status.Claim(prev, v, passErr, now)
		if equality.Semantic.DeepEqual(st, prev) {
			continue
		}
		rv, err := applyClaimStatus(ctx, r.Client, c, &st)
		switch {
		case apierrors.IsNotFound(err):
			continue // deleted meanwhile
		case err != nil:
			return fmt.Errorf("write status of NamespaceClaim %s: %w", v.Key(), err)
		}
		ex.writes++
		r.claims.store(t.Name, c.UID, rv, st)
	}
	r.claims.keep(t.Name, live)
	return nil
}

// applyClaimStatus server-side applies a claim's status as field manager
// tenantry, pinned to the claim's UID, and returns the resourceVersion made.
func applyClaimStatus(ctx context.Context, c client.Client, claim *tenantryv1alpha1.NamespaceClaim, st *tenantryv1alpha1.NamespaceClaimStatus) (string, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(st)
	if err != nil {
		return "", err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": content}}
	u.SetGroupVersionKind(tenantryv1alpha1.GroupVersion.WithKind("NamespaceClaim"))
	u.SetNamespace(claim.Namespace)
	u.SetName(claim.Name)
	u.SetUID(claim.UID)
	err = c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership)
	return u.GetResourceVersion(), err
}
