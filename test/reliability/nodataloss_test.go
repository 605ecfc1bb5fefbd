package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Pools the random steps draw from: few enough names that tenants collide
// over namespaces, adopt released ones and re-list deleted ones.
var (
	ndTenants    = []string{"nd-t1", "nd-t2", "nd-t3"}
	ndNamespaces = []string{"nd-a", "nd-b", "nd-c", "nd-d", "nd-e"}
	// ndClaimOnly are namespaces only claims ask for (as well as the
	// others): no spec lists them, so claims also get namespaces of their own.
	ndClaimOnly = []string{"nd-x", "nd-y", "nd-z"}
)

// ndPool is every namespace the test watches.
func ndPool() []string { return append(slices.Clone(ndNamespaces), ndClaimOnly...) }

// ndSpec is the model of one Tenant's spec, and the UID of the Tenant.
type ndSpec struct {
	uid        types.UID
	namespaces []string
	deletion   tenantryv1alpha1.DeletionPolicy
	adoption   tenantryv1alpha1.AdoptionPolicy
	// claimDeletion is selfService.deletionPolicy: what deleting one of
	// its NamespaceClaims does to the claimed namespace.
	claimDeletion tenantryv1alpha1.DeletionPolicy
}

// nsState is one namespace as observed.
type nsState struct {
	name, uid   string
	tenant      string
	terminating bool
	seeded      bool
	// claim is the NamespaceClaim (<namespace>/<name>) it was created for.
	claim string
}

// ndCreated is a namespace Tenantry created: it was absent before a Tenant
// listed it. Only such a namespace, while still that Tenant's (that UID, not
// released since), may ever be deleted, and only by that Tenant's Delete
// policy. Namespaces made by hand, adopted, forged or left by a Tenant whose
// finalizer was stripped are never deleted.
type ndCreated struct {
	uid       string    // the namespace's
	tenant    string    // name of the Tenant that created it
	tenantUID types.UID // and its UID: a new Tenant of the same name is another Tenant
	claim     string    // the NamespaceClaim it was created for, while it is that claim's
}

// ndStep is what one random step did.
type ndStep struct {
	desc string
	// deleted: Tenants deleted the ordinary way (the operator finalizes
	// them), with their last spec. A Tenant whose finalizer was stripped
	// is not here: nothing it had may be deleted.
	deleted map[string]*ndSpec
	// handMade: a namespace someone created by hand in this step; it is not
	// Tenantry's even if a Tenant adopts it at once.
	handMade string
	// adminDeleted: a namespace a cluster admin deleted in this step (one no
	// Tenant lists, such as one left behind): not Tenantry's doing.
	adminDeleted string
	// unclaimed: the NamespaceClaim (<namespace>/<name>) deleted in this step.
	unclaimed string
	// gone: the namespaces deleted in this step (the claims in them go too).
	gone map[string]bool
}

// ndOps weighs the kinds of random step: mostly spec edits, then the
// attacks on ownership, and a cluster admin clearing a namespace no Tenant
// lists, so that the pool does not fill up with namespaces left behind.
var ndOps = []string{"create", "add", "add", "add", "remove", "remove", "remove", "rename", "rename",
	"deletion", "adoption", "delete", "delete", "forge", "strip", "adopt", "cleanup", "cleanup", "hand",
	"claim", "claim", "claim", "unclaim", "unclaim", "selfservice"}

// listedByAny: some Tenant of the model lists namespace ns.
func listedByAny(model map[string]*ndSpec, ns string) bool {
	for _, spec := range model {
		if slices.Contains(spec.namespaces, ns) {
			return true
		}
	}
	return false
}

// TestNoDataLoss applies a random sequence of spec edits — add, remove and
// rename namespaces, switch deletion and adoption policies, conflicting
// Tenants, Tenant deletions, namespaces created by hand — and of attacks on
// ownership: a cluster admin forging a Tenant's label on a namespace that is
// not its, stripping a Tenant's finalizer before deleting it (its namespaces
// stay behind, labelled), new Tenants reusing a deleted one's name, and
// hand-made namespaces adopted under deletionPolicy Delete; NamespaceClaims
// made and deleted in the Tenants' namespaces (nested too), under both
// selfService deletion policies. After each step
// it checks: no namespace was deleted unless Tenantry created it (it was
// absent when the Tenant listed it), it was still that Tenant's (same UID,
// never released), and that Tenant's Delete policy asked for it (it dropped
// the namespace from its spec, or was deleted itself) — for a claimed
// namespace: its claim was deleted in that step, alone or with the
// namespace it was in, under selfService.deletionPolicy Delete, or its
// Tenant was deleted under Delete; every other namespace
// still holds the ConfigMap seeded in it. TENANTRY_SEED and TENANTRY_STEPS
// change the sequence (the seed is logged, so a failure can be replayed).
func TestNoDataLoss(t *testing.T) {
	seed, steps := envInt("TENANTRY_SEED", 2), envInt("TENANTRY_STEPS", 100)
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	startOperator(t, "nodataloss")
	t.Logf("seed %d, %d steps", seed, steps)

	model := map[string]*ndSpec{}
	created := map[string]ndCreated{}
	deletions, spared, claimed, claimDeletions, hostDeletions := 0, 0, 0, 0, 0
	for step := 1; step <= steps; step++ {
		before, listed := observeNamespaces(t), map[string][]string{}
		for name, spec := range model {
			listed[name] = slices.Clone(spec.namespaces)
		}
		st := randomStep(t, r, model)
		t.Logf("step %d: %s", step, st.desc)
		waitQuiet(t, model, st.deleted)
		after := observeNamespaces(t)
		st.gone = map[string]bool{}
		for name, was := range before {
			if now, exists := after[name]; !was.terminating && (!exists || now.uid != was.uid || now.terminating) {
				st.gone[name] = true
			}
		}
		for name, was := range before {
			now, exists := after[name]
			gone := !exists || now.uid != was.uid || now.terminating
			if !gone {
				if was.seeded && !now.seeded {
					t.Fatalf("step %d (%s): the ConfigMap in namespace %s is gone, the namespace is not", step, st.desc, name)
				}
				if created[name].uid != was.uid && letGo(name, was.tenant, listed, model, st.deleted) {
					spared++
				}
				continue
			}
			if was.terminating || name == st.adminDeleted {
				continue // judged in an earlier step, or not Tenantry's doing
			}
			if why := deletionAllowed(name, created[name], was, model, st); why != "" {
				t.Fatalf("step %d (%s): namespace %s (labelled for %q) was deleted, but %s", step, st.desc, name, was.tenant, why)
			}
			if c := created[name].claim; c != "" {
				claimDeletions++
				if host, _, _ := strings.Cut(c, "/"); st.gone[host] {
					hostDeletions++
				}
			}
			delete(created, name)
			deletions++
		}
		for name, now := range after {
			if was, ok := before[name]; now.claim != "" && (!ok || was.uid != now.uid) {
				claimed++
			}
		}
		learnCreated(created, before, after, model, st.handMade)
		seedNamespaces(t)
	}
	if os.Getenv("TENANTRY_SEED") == "" && (deletions == 0 || spared == 0 || claimed == 0) {
		t.Fatalf("the default sequence made %d deletions, spared %d namespaces and claimed %d: it no longer tests both sides of the Delete policy, or claims",
			deletions, spared, claimed)
	}
	t.Logf("%d namespaces created for NamespaceClaims, %d of them deleted (their claim deleted under Delete, or their Tenant), "+
		"%d of those with the namespace their claim was in", claimed, claimDeletions, hostDeletions)
	t.Logf("%d steps, %d namespace deletions, every one of a namespace Tenantry created, asked for by its Delete policy; "+
		"%d times a Tenant with deletionPolicy Delete let go of a namespace it had not created (adopted, forged, left by a Tenant of its name) and it was kept; "+
		"no seeded ConfigMap lost", steps, deletions, spared)
}

// letGo: the namespace was labelled for a Tenant with deletionPolicy Delete
// that, in this step, was deleted or dropped the namespace from its spec.
func letGo(name, tenant string, listed map[string][]string, model, deleted map[string]*ndSpec) bool {
	if last := deleted[tenant]; last != nil {
		return last.deletion == tenantryv1alpha1.DeletionPolicyDelete
	}
	spec := model[tenant]
	return spec != nil && spec.deletion == tenantryv1alpha1.DeletionPolicyDelete &&
		slices.Contains(listed[tenant], name) && !slices.Contains(spec.namespaces, name)
}

// deletionAllowed says why the deletion of a namespace, as it was before
// the step, was not allowed; "" when it was.
func deletionAllowed(name string, c ndCreated, was nsState, model map[string]*ndSpec, st ndStep) string {
	deleted := st.deleted
	if c.uid != was.uid {
		return "Tenantry did not create it (made by hand, adopted, or forged), or has released it since"
	}
	if c.claim != "" {
		return claimedDeletionAllowed(c, model, st)
	}
	if last := deleted[c.tenant]; last != nil && last.uid == c.tenantUID {
		if last.deletion == tenantryv1alpha1.DeletionPolicyDelete {
			return ""
		}
		return fmt.Sprintf("its Tenant %s was deleted with deletionPolicy %s", c.tenant, last.deletion)
	}
	spec := model[c.tenant]
	switch {
	case spec == nil || spec.uid != c.tenantUID:
		return fmt.Sprintf("the Tenant %s (uid %s) that created it is gone (its finalizer stripped), spec now %+v", c.tenant, c.tenantUID, spec)
	case spec.deletion != tenantryv1alpha1.DeletionPolicyDelete:
		return fmt.Sprintf("its Tenant %s has deletionPolicy %s", c.tenant, spec.deletion)
	case slices.Contains(spec.namespaces, name):
		return fmt.Sprintf("its Tenant %s still lists it", c.tenant)
	}
	return ""
}

// claimedDeletionAllowed is deletionAllowed for a namespace created for a
// NamespaceClaim.
func claimedDeletionAllowed(c ndCreated, model map[string]*ndSpec, st ndStep) string {
	host, _, _ := strings.Cut(c.claim, "/")
	if last := st.deleted[c.tenant]; last != nil && last.uid == c.tenantUID {
		if last.deletion == tenantryv1alpha1.DeletionPolicyDelete {
			return ""
		}
		return fmt.Sprintf("it was claimed (%s) and its Tenant %s was deleted with deletionPolicy %s", c.claim, c.tenant, last.deletion)
	}
	spec := model[c.tenant]
	switch {
	case spec == nil || spec.uid != c.tenantUID:
		return fmt.Sprintf("it was claimed (%s) and the Tenant %s (uid %s) that created it is gone (its finalizer stripped)", c.claim, c.tenant, c.tenantUID)
	case st.unclaimed != c.claim && !st.gone[host]:
		return fmt.Sprintf("its claim %s was not deleted in this step, neither alone nor with the namespace %s it was in", c.claim, host)
	case spec.claimDeletion != tenantryv1alpha1.DeletionPolicyDelete:
		return fmt.Sprintf("its claim %s was deleted under selfService.deletionPolicy %s", c.claim, spec.claimDeletion)
	}
	return ""
}

// learnCreated records the namespaces Tenantry created in the step — new
// (absent before, or another UID), not made by hand, labelled for a Tenant —
// and forgets those no longer the creating Tenant's (released, relabelled).
func learnCreated(created map[string]ndCreated, before, after map[string]nsState, model map[string]*ndSpec, handMade string) {
	for name, now := range after {
		if c, ok := created[name]; ok && (c.uid != now.uid || c.tenant != now.tenant) {
			delete(created, name)
		} else if ok {
			c.claim = now.claim // a spec listing it takes it over from its claim
			created[name] = c
		}
		was, existed := before[name]
		if now.terminating || now.tenant == "" || name == handMade || existed && was.uid == now.uid {
			continue
		}
		if spec := model[now.tenant]; spec != nil {
			created[name] = ndCreated{uid: now.uid, tenant: now.tenant, tenantUID: spec.uid, claim: now.claim}
		}
	}
	for name := range created {
		if _, ok := after[name]; !ok {
			delete(created, name)
		}
	}
}

// waitQuiet waits until the operator has finished with the step: deleted
// Tenants are gone, every other one is Ready or Stalled at its generation,
// and no pool namespace is terminating.
func waitQuiet(t *testing.T, model, deleted map[string]*ndSpec) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		quiet := true
		for name := range deleted {
			if err := admin.Get(ctx, client.ObjectKey{Name: name}, &tenantryv1alpha1.Tenant{}); !apierrors.IsNotFound(err) {
				quiet = false
			}
		}
		for name := range model {
			var tn tenantryv1alpha1.Tenant
			if err := admin.Get(ctx, client.ObjectKey{Name: name}, &tn); err != nil || tn.Status.ObservedGeneration != tn.Generation ||
				meta.IsStatusConditionTrue(tn.Status.Conditions, tenantryv1alpha1.ConditionReconciling) ||
				!meta.IsStatusConditionTrue(tn.Status.Conditions, tenantryv1alpha1.ConditionReady) &&
					!meta.IsStatusConditionTrue(tn.Status.Conditions, tenantryv1alpha1.ConditionStalled) {
				quiet = false
			}
		}
		for _, ns := range observeNamespaces(t) {
			if ns.terminating {
				quiet = false
			}
		}
		if quiet {
			return
		}
	}
	t.Fatal("the operator did not settle within 2 minutes")
}

// observeNamespaces returns the pool namespaces that exist.
func observeNamespaces(t *testing.T) map[string]nsState {
	t.Helper()
	ctx := context.Background()
	out := map[string]nsState{}
	for _, name := range ndPool() {
		var ns corev1.Namespace
		err := admin.Get(ctx, client.ObjectKey{Name: name}, &ns)
		if apierrors.IsNotFound(err) {
			continue
		}
		mustDo(t, err)
		st := nsState{name: name, uid: string(ns.UID), tenant: ns.Labels[tenantryv1alpha1.TenantLabel], terminating: ns.DeletionTimestamp != nil,
			claim: ns.Annotations[tenantryv1alpha1.ClaimAnnotation]}
		err = admin.Get(ctx, client.ObjectKey{Namespace: name, Name: "seed"}, &corev1.ConfigMap{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		st.seeded = err == nil
		out[name] = st
	}
	return out
}

// seedNamespaces puts a ConfigMap — a tenant's data — in every pool
// namespace that has none yet.
func seedNamespaces(t *testing.T) {
	t.Helper()
	for name, ns := range observeNamespaces(t) {
		if ns.seeded || ns.terminating {
			continue
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "seed"}, Data: map[string]string{"data": "precious"}}
		if err := admin.Create(context.Background(), cm); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}
