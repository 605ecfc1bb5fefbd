package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// The random steps of TestNoDataLoss and the Tenants they write.

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
			deletion: randomDeletion(r), adoption: randomAdoption(r), claimDeletion: randomDeletion(r)}
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
	case op == "claim":
		host, ok := pickNamespace(t, r, func(s nsState) bool { return s.tenant == tenant })
		if !ok {
			return randomStep(t, r, model)
		}
		name := pick(ndClaimOnly)
		if r.IntN(3) == 0 {
			name = pick(ndNamespaces) // collides with listed and hand-made ones
		}
		err := admin.Create(ctx, &tenantryv1alpha1.NamespaceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: host, Name: name}})
		if apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) {
			// Claimed already, or refused at apply: the host's prefix
			// annotation not mirrored yet, or it was just relabelled.
			return randomStep(t, r, model)
		}
		mustDo(t, err)
		st.desc = fmt.Sprintf("%s's owner claims %s from %s", tenant, name, host)
	case op == "unclaim":
		var claims []tenantryv1alpha1.NamespaceClaim
		for _, ns := range ndPool() {
			var list tenantryv1alpha1.NamespaceClaimList
			mustDo(t, admin.List(ctx, &list, client.InNamespace(ns)))
			claims = append(claims, list.Items...)
		}
		if len(claims) == 0 {
			return randomStep(t, r, model)
		}
		c := claims[r.IntN(len(claims))]
		if err := admin.Delete(ctx, &c); !apierrors.IsNotFound(err) {
			mustDo(t, err)
		}
		st.unclaimed = c.Namespace + "/" + c.Name
		st.desc = fmt.Sprintf("delete NamespaceClaim %s", st.unclaimed)
	case op == "selfservice":
		spec.claimDeletion = randomDeletion(r)
		updateND(t, tenant, spec)
		st.desc = fmt.Sprintf("%s sets selfService.deletionPolicy %s", tenant, spec.claimDeletion)
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
	for _, name := range ndPool() {
		s, exists := observed[name]
		if ok == nil && !exists && slices.Contains(ndNamespaces, name) || ok != nil && exists && !s.terminating && ok(s) {
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
			// Claims may ask for any pool namespace: they collide with
			// listed, hand-made and other tenants' ones.
			SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 2, NamePrefix: "nd-", DeletionPolicy: spec.claimDeletion},
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
