package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Pools the random steps draw from: few enough names that tenants collide
// over namespaces, adopt released ones and re-list deleted ones.
var (
	ndTenants    = []string{"nd-t1", "nd-t2", "nd-t3"}
	ndNamespaces = []string{"nd-a", "nd-b", "nd-c", "nd-d", "nd-e"}
)

// ndSpec is the model of one Tenant's spec.
type ndSpec struct {
	namespaces []string
	deletion   tenantryv1alpha1.DeletionPolicy
	adoption   tenantryv1alpha1.AdoptionPolicy
}

// nsState is one namespace as observed.
type nsState struct {
	uid, tenant string
	terminating bool
	seeded      bool
}

// TestNoDataLoss applies a random sequence of spec edits — add, remove and
// rename namespaces, switch deletion and adoption policies, conflicting
// Tenants, Tenant deletions, namespaces created by hand — and after each
// step checks: no namespace was deleted unless the Tenant that owned it
// had deletionPolicy Delete at that moment and had let it go (dropped it
// from its spec, or was deleted itself); every other namespace still holds
// the ConfigMap seeded in it. TENANTRY_SEED and TENANTRY_STEPS change the
// sequence (the seed is logged, so a failure can be replayed).
func TestNoDataLoss(t *testing.T) {
	// The default sequence deletes about ten namespaces under Delete policies and
	// releases others under Retain; seeds 2 to 8 at 80 steps all pass.
	seed, steps := envInt("TENANTRY_SEED", 2), envInt("TENANTRY_STEPS", 60)
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	startOperator(t, "nodataloss")
	t.Logf("seed %d, %d steps", seed, steps)

	model := map[string]*ndSpec{}
	deletions := 0
	for step := 1; step <= steps; step++ {
		before := observeNamespaces(t)
		desc, deleted := randomStep(t, r, model)
		t.Logf("step %d: %s", step, desc)
		waitQuiet(t, model, deleted)
		after := observeNamespaces(t)
		for name, was := range before {
			now, exists := after[name]
			gone := !exists || now.uid != was.uid || now.terminating
			if !gone {
				if was.seeded && !now.seeded {
					t.Fatalf("step %d (%s): the ConfigMap in namespace %s is gone, the namespace is not", step, desc, name)
				}
				continue
			}
			if was.terminating {
				continue // its deletion was judged in an earlier step
			}
			owner := was.tenant
			spec, lastSpec := model[owner], deleted[owner]
			switch {
			case owner == "":
				t.Fatalf("step %d (%s): namespace %s, owned by no tenant, was deleted", step, desc, name)
			case lastSpec != nil && lastSpec.deletion == tenantryv1alpha1.DeletionPolicyDelete:
				// Its Tenant was deleted with deletionPolicy Delete.
			case spec != nil && spec.deletion == tenantryv1alpha1.DeletionPolicyDelete && !slices.Contains(spec.namespaces, name):
				// Dropped from a spec that says Delete.
			default:
				t.Fatalf("step %d (%s): namespace %s of tenant %s was deleted, but the policy or the spec did not say so (spec %+v, deleted %+v)",
					step, desc, name, owner, spec, lastSpec)
			}
			deletions++
		}
		seedNamespaces(t)
	}
	if deletions == 0 && os.Getenv("TENANTRY_SEED") == "" {
		t.Fatal("the default sequence deleted no namespace: it no longer tests the Delete policy")
	}
	t.Logf("%d steps, %d namespace deletions, every one asked for by a Delete policy; no seeded ConfigMap lost", steps, deletions)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// randomStep changes one thing and returns what, and the last spec of any
// Tenant it deleted.
func randomStep(t *testing.T, r *rand.Rand, model map[string]*ndSpec) (string, map[string]*ndSpec) {
	t.Helper()
	ctx := context.Background()
	deleted := map[string]*ndSpec{}
	pick := func(pool []string) string { return pool[r.IntN(len(pool))] }
	tenant := pick(ndTenants)
	spec, exists := model[tenant]
	switch op := r.IntN(8); {
	case !exists || op == 0 && len(model) < len(ndTenants):
		if exists {
			return randomStep(t, r, model)
		}
		spec = &ndSpec{namespaces: []string{pick(ndNamespaces)},
			deletion: randomDeletion(r), adoption: randomAdoption(r)}
		model[tenant] = spec
		mustDo(t, admin.Create(ctx, ndTenant(tenant, spec)))
		return fmt.Sprintf("create %s %+v", tenant, *spec), deleted
	case op == 1:
		ns := pick(ndNamespaces)
		if slices.Contains(spec.namespaces, ns) {
			return randomStep(t, r, model)
		}
		spec.namespaces = append(spec.namespaces, ns)
		updateND(t, tenant, spec)
		return fmt.Sprintf("%s adds %s", tenant, ns), deleted
	case op == 2 && len(spec.namespaces) > 1:
		ns := spec.namespaces[r.IntN(len(spec.namespaces))]
		spec.namespaces = slices.DeleteFunc(spec.namespaces, func(s string) bool { return s == ns })
		updateND(t, tenant, spec)
		return fmt.Sprintf("%s removes %s (deletionPolicy %s)", tenant, ns, spec.deletion), deleted
	case op == 3:
		i, ns := r.IntN(len(spec.namespaces)), pick(ndNamespaces)
		if slices.Contains(spec.namespaces, ns) {
			return randomStep(t, r, model)
		}
		old := spec.namespaces[i]
		spec.namespaces[i] = ns
		updateND(t, tenant, spec)
		return fmt.Sprintf("%s renames %s to %s (deletionPolicy %s)", tenant, old, ns, spec.deletion), deleted
	case op == 4:
		spec.deletion = randomDeletion(r)
		updateND(t, tenant, spec)
		return fmt.Sprintf("%s sets deletionPolicy %s", tenant, spec.deletion), deleted
	case op == 5:
		spec.adoption = randomAdoption(r)
		updateND(t, tenant, spec)
		return fmt.Sprintf("%s sets adoptionPolicy %s", tenant, spec.adoption), deleted
	case op == 6:
		delete(model, tenant)
		deleted[tenant] = spec
		mustDo(t, admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}}))
		return fmt.Sprintf("delete %s (deletionPolicy %s, namespaces %v)", tenant, spec.deletion, spec.namespaces), deleted
	default:
		ns := pick(ndNamespaces)
		err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if apierrors.IsAlreadyExists(err) {
			return randomStep(t, r, model)
		}
		mustDo(t, err)
		return fmt.Sprintf("someone creates namespace %s by hand", ns), deleted
	}
}

func randomDeletion(r *rand.Rand) tenantryv1alpha1.DeletionPolicy {
	return []tenantryv1alpha1.DeletionPolicy{tenantryv1alpha1.DeletionPolicyRetain, tenantryv1alpha1.DeletionPolicyDelete}[r.IntN(2)]
}

func randomAdoption(r *rand.Rand) tenantryv1alpha1.AdoptionPolicy {
	return []tenantryv1alpha1.AdoptionPolicy{tenantryv1alpha1.AdoptionPolicyNever, tenantryv1alpha1.AdoptionPolicyIfUnowned}[r.IntN(2)]
}

func ndTenant(name string, spec *ndSpec) *tenantryv1alpha1.Tenant {
	tn := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:         []tenantryv1alpha1.Subject{{Kind: "Group", Name: name, APIGroup: rbacv1.GroupName}},
			DeletionPolicy: spec.deletion,
			AdoptionPolicy: spec.adoption,
		},
	}
	for _, ns := range spec.namespaces {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
	}
	return tn
}

func updateND(t *testing.T, name string, spec *ndSpec) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		var tn tenantryv1alpha1.Tenant
		mustDo(t, admin.Get(ctx, client.ObjectKey{Name: name}, &tn))
		tn.Spec = ndTenant(name, spec).Spec
		err := admin.Update(ctx, &tn)
		if !apierrors.IsConflict(err) {
			mustDo(t, err)
			return
		}
	}
	t.Fatalf("update %s: conflicts", name)
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
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
	for _, name := range ndNamespaces {
		var ns corev1.Namespace
		err := admin.Get(ctx, client.ObjectKey{Name: name}, &ns)
		if apierrors.IsNotFound(err) {
			continue
		}
		mustDo(t, err)
		st := nsState{uid: string(ns.UID), tenant: ns.Labels[tenantryv1alpha1.TenantLabel], terminating: ns.DeletionTimestamp != nil}
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
