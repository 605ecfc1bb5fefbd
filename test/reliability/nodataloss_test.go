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
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Pools the random steps draw from: few enough names that tenants collide
// over namespaces, adopt released ones and re-list deleted ones.
var (
	ndTenants    = []string{"nd-t1", "nd-t2", "nd-t3"}
	ndNamespaces = []string{"nd-a", "nd-b", "nd-c", "nd-d", "nd-e"}
)

// ndSpec is the model of one Tenant's spec, and the UID of the Tenant.
type ndSpec struct {
	uid        types.UID
	namespaces []string
	deletion   tenantryv1alpha1.DeletionPolicy
	adoption   tenantryv1alpha1.AdoptionPolicy
}

// nsState is one namespace as observed.
type nsState struct {
	name, uid   string
	tenant      string
	terminating bool
	seeded      bool
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
}

// ndOps weighs the kinds of random step: mostly spec edits, then the
// attacks on ownership, and a cluster admin clearing a namespace no Tenant
// lists, so that the pool does not fill up with namespaces left behind.
var ndOps = []string{"create", "add", "add", "add", "remove", "remove", "remove", "rename", "rename",
	"deletion", "adoption", "delete", "delete", "forge", "strip", "adopt", "cleanup", "cleanup", "hand"}

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
// hand-made namespaces adopted under deletionPolicy Delete. After each step
// it checks: no namespace was deleted unless Tenantry created it (it was
// absent when the Tenant listed it), it was still that Tenant's (same UID,
// never released), and that Tenant's Delete policy asked for it (it dropped
// the namespace from its spec, or was deleted itself); every other namespace
// still holds the ConfigMap seeded in it. TENANTRY_SEED and TENANTRY_STEPS
// change the sequence (the seed is logged, so a failure can be replayed).
func TestNoDataLoss(t *testing.T) {
	seed, steps := envInt("TENANTRY_SEED", 2), envInt("TENANTRY_STEPS", 100)
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	startOperator(t, "nodataloss")
	t.Logf("seed %d, %d steps", seed, steps)

	model := map[string]*ndSpec{}
	created := map[string]ndCreated{}
	deletions, spared := 0, 0
	for step := 1; step <= steps; step++ {
		before, listed := observeNamespaces(t), map[string][]string{}
		for name, spec := range model {
			listed[name] = slices.Clone(spec.namespaces)
		}
		st := randomStep(t, r, model)
		t.Logf("step %d: %s", step, st.desc)
		waitQuiet(t, model, st.deleted)
		after := observeNamespaces(t)
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
			if why := deletionAllowed(name, created[name], was, model, st.deleted); why != "" {
				t.Fatalf("step %d (%s): namespace %s (labelled for %q) was deleted, but %s", step, st.desc, name, was.tenant, why)
			}
			delete(created, name)
			deletions++
		}
		learnCreated(created, before, after, model, st.handMade)
		seedNamespaces(t)
	}
	if os.Getenv("TENANTRY_SEED") == "" && (deletions == 0 || spared == 0) {
		t.Fatalf("the default sequence made %d deletions and spared %d namespaces: it no longer tests both sides of the Delete policy", deletions, spared)
	}
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
func deletionAllowed(name string, c ndCreated, was nsState, model, deleted map[string]*ndSpec) string {
	if c.uid != was.uid {
		return "Tenantry did not create it (made by hand, adopted, or forged), or has released it since"
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

// learnCreated records the namespaces Tenantry created in the step — new
// (absent before, or another UID), not made by hand, labelled for a Tenant —
// and forgets those no longer the creating Tenant's (released, relabelled).
func learnCreated(created map[string]ndCreated, before, after map[string]nsState, model map[string]*ndSpec, handMade string) {
	for name, now := range after {
		if c, ok := created[name]; ok && (c.uid != now.uid || c.tenant != now.tenant) {
			delete(created, name)
		}
		was, existed := before[name]
		if now.terminating || now.tenant == "" || name == handMade || existed && was.uid == now.uid {
			continue
		}
		if spec := model[now.tenant]; spec != nil {
			created[name] = ndCreated{uid: now.uid, tenant: now.tenant, tenantUID: spec.uid}
		}
	}
	for name := range created {
		if _, ok := after[name]; !ok {
			delete(created, name)
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// randomStep changes one thing and says what.
func randomStep(t *testing.T, r *rand.Rand, model map[string]*ndSpec) ndStep {
	t.Helper()
	ctx := context.Background()
	st := ndStep{deleted: map[string]*ndSpec{}}
	pick := func(pool []string) string { return pool[r.IntN(len(pool))] }
	// Half the time a Tenant lists a namespace that does not exist, for
	// Tenantry to create: the only kind a Delete policy may delete.
	pickListed := func() string {
		if ns, ok := pickNamespace(t, r, nil); ok && r.IntN(2) == 0 {
			return ns
		}
		return pick(ndNamespaces)
	}
	tenant := pick(ndTenants)
	spec, exists := model[tenant]
	switch op := ndOps[r.IntN(len(ndOps))]; {
	case !exists || op == "create" && len(model) < len(ndTenants):
		if exists {
			return randomStep(t, r, model)
		}
		spec = &ndSpec{namespaces: []string{pickListed()},
			deletion: randomDeletion(r), adoption: randomAdoption(r)}
		tn := ndTenant(tenant, spec)
		mustDo(t, admin.Create(ctx, tn))
		spec.uid, model[tenant] = tn.UID, spec
		st.desc = fmt.Sprintf("create %s (uid %s) %+v", tenant, tn.UID, *spec)
	case op == "add":
		ns := pickListed()
		if slices.Contains(spec.namespaces, ns) {
			return randomStep(t, r, model)
		}
		spec.namespaces = append(spec.namespaces, ns)
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s adds %s", tenant, ns)
	case op == "remove" && len(spec.namespaces) > 1:
		ns := spec.namespaces[r.IntN(len(spec.namespaces))]
		spec.namespaces = slices.DeleteFunc(spec.namespaces, func(s string) bool { return s == ns })
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s removes %s (deletionPolicy %s)", tenant, ns, spec.deletion)
	case op == "rename":
		i, ns := r.IntN(len(spec.namespaces)), pick(ndNamespaces)
		if slices.Contains(spec.namespaces, ns) {
			return randomStep(t, r, model)
		}
		old := spec.namespaces[i]
		spec.namespaces[i] = ns
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s renames %s to %s (deletionPolicy %s)", tenant, old, ns, spec.deletion)
	case op == "deletion":
		spec.deletion = randomDeletion(r)
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s sets deletionPolicy %s", tenant, spec.deletion)
	case op == "adoption":
		spec.adoption = randomAdoption(r)
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s sets adoptionPolicy %s", tenant, spec.adoption)
	case op == "delete":
		delete(model, tenant)
		st.deleted[tenant] = spec
		mustDo(t, admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}}))
		st.desc = fmt.Sprintf("delete %s (deletionPolicy %s, namespaces %v)", tenant, spec.deletion, spec.namespaces)
	case op == "forge":
		ns, ok := pickNamespace(t, r, func(s nsState) bool { return s.tenant == "" })
		if !ok {
			return randomStep(t, r, model)
		}
		forged := pick(ndTenants)
		mustDo(t, admin.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, tenantryv1alpha1.TenantLabel, forged))))
		st.desc = fmt.Sprintf("a cluster admin forges label %s=%s on namespace %s", tenantryv1alpha1.TenantLabel, forged, ns)
	case op == "strip":
		forceDelete(t, tenant)
		delete(model, tenant)
		st.desc = fmt.Sprintf("a cluster admin strips the finalizer of %s and deletes it (deletionPolicy %s, namespaces %v)",
			tenant, spec.deletion, spec.namespaces)
	case op == "adopt":
		ns := pick(ndNamespaces)
		if slices.Contains(spec.namespaces, ns) || !createByHand(t, ns) {
			return randomStep(t, r, model)
		}
		st.handMade = ns
		spec.namespaces = append(spec.namespaces, ns)
		spec.deletion, spec.adoption = tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.AdoptionPolicyIfUnowned
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("someone creates namespace %s by hand; %s adopts it (IfUnowned, deletionPolicy Delete)", ns, tenant)
	case op == "cleanup":
		ns, ok := pickNamespace(t, r, func(s nsState) bool { return !listedByAny(model, s.name) })
		if !ok {
			return randomStep(t, r, model)
		}
		mustDo(t, admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		st.adminDeleted = ns
		st.desc = fmt.Sprintf("a cluster admin deletes namespace %s, which no Tenant lists", ns)
	default:
		ns := pick(ndNamespaces)
		if !createByHand(t, ns) {
			return randomStep(t, r, model)
		}
		st.handMade = ns
		st.desc = fmt.Sprintf("someone creates namespace %s by hand", ns)
	}
	return st
}

// createByHand creates namespace ns as a cluster admin, with a ConfigMap
// in it; false when it exists.
func createByHand(t *testing.T, ns string) bool {
	t.Helper()
	err := admin.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if apierrors.IsAlreadyExists(err) {
		return false
	}
	mustDo(t, err)
	seedNamespaces(t)
	return true
}

// pickNamespace picks an existing pool namespace, not terminating, that ok
// accepts; with ok nil, a pool namespace that does not exist.
func pickNamespace(t *testing.T, r *rand.Rand, ok func(nsState) bool) (string, bool) {
	t.Helper()
	var names []string
	observed := observeNamespaces(t)
	for _, name := range ndNamespaces {
		s, exists := observed[name]
		if ok == nil && !exists || ok != nil && exists && !s.terminating && ok(s) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return names[r.IntN(len(names))], true
}

// forceDelete strips a Tenant's finalizer as a cluster admin and deletes it
// at the resourceVersion of that write: if the operator put the finalizer
// back in between, the delete conflicts and is tried again. The Tenant is
// gone at once; the operator never finalizes it.
func forceDelete(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		var tn tenantryv1alpha1.Tenant
		mustDo(t, admin.Get(ctx, client.ObjectKey{Name: name}, &tn))
		err := admin.Patch(ctx, &tn, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
		mustDo(t, err)
		rv := tn.ResourceVersion
		err = admin.Delete(ctx, &tn, client.Preconditions{ResourceVersion: &rv})
		if !apierrors.IsConflict(err) {
			mustDo(t, err)
			return
		}
	}
	t.Fatalf("force-delete %s: conflicts", name)
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
		st := nsState{name: name, uid: string(ns.UID), tenant: ns.Labels[tenantryv1alpha1.TenantLabel], terminating: ns.DeletionTimestamp != nil}
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
