package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
)

// inventoryEntry returns the Tenant's inventory entry for a namespace.
func inventoryEntry(tn *tenantryv1alpha1.Tenant, name string) (tenantryv1alpha1.InventoryEntry, bool) {
	for _, e := range tn.Status.Inventory {
		if e.Name == name {
			return e, true
		}
	}
	return tenantryv1alpha1.InventoryEntry{}, false
}

// TestAdoptedNamespaceIsReleasedNotDeleted: under deletionPolicy Delete an
// adopted namespace is only released, with what adoption overwrote put back,
// while one Tenantry created is deleted.
func TestAdoptedNamespaceIsReleasedNotDeleted(t *testing.T) {
	ctx := context.Background()
	createNamespace(t, "adopt-me", map[string]string{"pod-security.kubernetes.io/enforce": "privileged", "team": "x"})
	legacy := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "adopt-me", Name: "legacy-admins"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "old-team"}}}
	if err := k8s.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	tn := newTenant("adopter", "adopt-me", "adopter-new")
	tn.Spec.AdoptionPolicy = tenantryv1alpha1.AdoptionPolicyIfUnowned
	tn.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	if err := k8s.Create(ctx, tn); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, tn.Name)
	adopted, ok := inventoryEntry(got, "adopt-me")
	created, ok2 := inventoryEntry(got, "adopter-new")
	if !ok || !ok2 || adopted.Origin != tenantryv1alpha1.NamespaceAdopted || created.Origin != tenantryv1alpha1.NamespaceCreated {
		t.Fatalf("inventory = %+v", got.Status.Inventory)
	}
	messages := map[string]string{}
	for _, st := range got.Status.Namespaces {
		messages[st.Name] = st.Message
	}
	if messages["adopt-me"] != "adopted; RoleBindings not managed by Tenantry keep working here: legacy-admins" || messages["adopter-new"] != "" {
		t.Fatalf("namespace messages = %v", messages)
	}
	// A later pass keeps the note (nothing changes, nothing is written).
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.NamespaceMetadata = &tenantryv1alpha1.NamespaceMetadata{Labels: map[string]tenantryv1alpha1.LabelValue{"cost": "1"}}
	})
	got = waitReady(t, tn.Name)
	if got.Status.Namespaces[0].Message != messages["adopt-me"] {
		t.Fatalf("after a spec change, adopt-me's message = %q", got.Status.Namespaces[0].Message)
	}
	ns := get(t, &corev1.Namespace{}, "", "adopt-me")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" || ns.Annotations[tenantryv1alpha1.TenantUIDAnnotation] != string(got.UID) || adopted.UID != ns.UID {
		t.Fatalf("adopted namespace = %v %v", ns.Labels, ns.Annotations)
	}

	// envtest runs no namespace controller: the namespace Tenantry created
	// stays Terminating and the Tenant waits for it; let it go at the end.
	if err := k8s.Delete(ctx, tn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stripFinalizer(t, tn.Name) })
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		ns = &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "adopt-me"}, ns)).To(Succeed())
		g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	if !ns.DeletionTimestamp.IsZero() {
		t.Fatal("an adopted namespace must never be deleted")
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" || ns.Labels["team"] != "x" || ns.Labels[tenantryv1alpha1.TenantLabel] != "" || ns.Labels["cost"] != "" {
		t.Fatalf("release must put back what adoption overwrote: %v", ns.Labels)
	}
	for _, k := range []string{tenantryv1alpha1.TenantUIDAnnotation, tenantryv1alpha1.AdoptedAnnotation} {
		if _, ok := ns.Annotations[k]; ok {
			t.Fatalf("release leaves annotation %s: %v", k, ns.Annotations)
		}
	}
	if _, ok := ns.Labels["pod-security.kubernetes.io/audit"]; ok {
		t.Fatalf("labels adoption added must go: %v", ns.Labels)
	}
	if ns := get(t, &corev1.Namespace{}, "", "adopter-new"); ns.DeletionTimestamp.IsZero() {
		t.Fatal("the namespace Tenantry created must be deleted under Delete")
	}
}

// TestNameReuseAndForgedLabels: a namespace an earlier Tenant of the same
// name left behind, or one carrying a forged label, is never taken nor
// deleted by a new Tenant; it is reported.
func TestNameReuseAndForgedLabels(t *testing.T) {
	ctx := context.Background()
	// What a Tenant "reused" deleted with its finalizer stripped leaves: its
	// namespace, marked with its name and UID.
	const oldUID = "uid-of-an-earlier-tenant"
	createNamespace(t, "reused-a", map[string]string{tenantryv1alpha1.TenantLabel: "reused"})
	orphan := get(t, &corev1.Namespace{}, "", "reused-a")
	orphan.Annotations = map[string]string{tenantryv1alpha1.TenantUIDAnnotation: oldUID}
	if err := k8s.Update(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	createNamespace(t, "reused-forged", map[string]string{tenantryv1alpha1.TenantLabel: "reused"})

	second := newTenant("reused", "reused-a", "reused-b")
	second.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	if err := k8s.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	got := waitCondition(t, second.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonNamespaceConflict)
	want := "Namespace conflict: reused-a (namespace was left by an earlier Tenant named reused (uid " + oldUID + "); set adoptionPolicy: IfUnowned to adopt it)"
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != want {
		t.Fatalf("Stalled:\n got %q\nwant %q", c.Message, want)
	}
	if _, ok := inventoryEntry(got, "reused-a"); ok {
		t.Fatal("a namespace left by an earlier Tenant must not enter the inventory")
	}
	eventuallyAbsent(t, &rbacv1.RoleBinding{}, "reused-a", "tenantry-owner")
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		got := getTenant(g, second.Name)
		var names []string
		for _, c := range got.Status.Conflicts {
			names = append(names, c.Kind+"/"+c.Name+": "+c.Message)
		}
		g.Expect(names).To(ContainElement("Namespace/reused-forged: carries the label of tenant reused but Tenantry did not make it for this Tenant; never modified or deleted"))
	}, eventually, 100*time.Millisecond).Should(Succeed())

	// Deleting the new Tenant under Delete deletes only what it created.
	if err := k8s.Delete(ctx, second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stripFinalizer(t, second.Name) })
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "reused-b"}, ns)).To(Succeed())
		g.Expect(ns.DeletionTimestamp.IsZero()).To(BeFalse(), "reused-b, created by the second Tenant, must be deleted")
	}, eventually, 100*time.Millisecond).Should(Succeed())
	for _, name := range []string{"reused-a", "reused-forged"} {
		if ns := get(t, &corev1.Namespace{}, "", name); !ns.DeletionTimestamp.IsZero() || ns.Labels[tenantryv1alpha1.TenantLabel] != "reused" {
			t.Fatalf("namespace %s was deleted or changed by a Tenant that did not make it: %+v", name, ns.ObjectMeta)
		}
	}
}

// stripFinalizer lets a deleted Tenant go that waits for a namespace
// deletion envtest never completes (it runs no namespace controller).
func stripFinalizer(t *testing.T, name string) {
	t.Helper()
	tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	if err := k8s.Patch(context.Background(), tn, patch); client.IgnoreNotFound(err) != nil {
		t.Errorf("strip finalizer of Tenant %s: %v", name, err)
	}
}

// TestRefusedObjectDoesNotStopThePass: a binding whose immutable roleRef
// differs is replaced, and the rest of the tenant is still repaired.
func TestRefusedObjectDoesNotStopThePass(t *testing.T) {
	ctx := context.Background()
	tn := newTenant("replacing", "replacing-a")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	squatter := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "replacing-a", Name: "tenantry-deploy", Annotations: map[string]string{"note": "mine"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "mallory"}},
	}
	if err := k8s.Create(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "deploy", ClusterRole: "edit",
			Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "deployers", APIGroup: rbacv1.GroupName}}}}
	})
	waitReady(t, tn.Name)
	b := get(t, &rbacv1.RoleBinding{}, "replacing-a", "tenantry-deploy")
	if b.RoleRef.Name != "edit" || b.UID == squatter.UID || b.Annotations["note"] != "mine" || len(b.Subjects) != 1 || b.Subjects[0].Name != "deployers" {
		t.Fatalf("tenantry-deploy not replaced as the spec says: %+v %+v", b.RoleRef, b.ObjectMeta)
	}
}

// refuseByPolicy installs, until the test ends, a ValidatingAdmissionPolicy
// that refuses ops on rule's resources where expression is false, with the
// message "refused by test".
func refuseByPolicy(t *testing.T, name string, ops []admissionregistrationv1.OperationType, rule admissionregistrationv1.Rule, expression string) {
	t.Helper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: rule}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: expression, Message: "refused by test"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	for _, obj := range []client.Object{policy, binding} {
		if err := k8s.Create(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), obj) })
	}
}

// TestOneRefusedObjectDoesNotStopThePass: an object the API server keeps
// refusing is reported by name; everything else is still reconciled and
// repaired.
func TestOneRefusedObjectDoesNotStopThePass(t *testing.T) {
	ctx := context.Background()
	refuseByPolicy(t, "test-refuse-blocked", []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		admissionregistrationv1.Rule{APIGroups: []string{"rbac.authorization.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"rolebindings"}},
		"object.metadata.name != 'tenantry-blocked'")
	g := NewWithT(t)
	probe := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tenantry-blocked"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}}
	g.Eventually(func() error { return k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll) }, eventually).Should(
		MatchError(ContainSubstring("refused by test")), "the test policy is not in force")

	tn := newTenant("one-refused", "one-refused-a", "one-refused-b")
	tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "blocked", ClusterRole: "view",
		Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "viewers", APIGroup: rbacv1.GroupName}}}}
	createTenant(t, tn)
	g.Eventually(func(g Gomega) {
		c := condition(getTenant(g, tn.Name), tenantryv1alpha1.ConditionReady)
		g.Expect(c.Reason).To(Equal(tenantryv1alpha1.ReasonReconcileError))
		g.Expect(c.Message).To(And(ContainSubstring("apply RoleBinding/one-refused-a/tenantry-blocked"),
			ContainSubstring("apply RoleBinding/one-refused-b/tenantry-blocked"), ContainSubstring("refused by test")))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	for _, ns := range []string{"one-refused-a", "one-refused-b"} {
		get(t, &rbacv1.RoleBinding{}, ns, "tenantry-owner")
		get(t, &networkingv1.NetworkPolicy{}, ns, "tenantry-isolation")
	}
	get(t, &rbacv1.ClusterRoleBinding{}, "", "tenantry:tenant:one-refused")

	// Drift elsewhere in the Tenant is still repaired.
	isolation := get(t, &networkingv1.NetworkPolicy{}, "one-refused-b", "tenantry-isolation")
	if err := k8s.Delete(ctx, isolation); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		restored := &networkingv1.NetworkPolicy{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "one-refused-b", Name: "tenantry-isolation"}, restored)).To(Succeed())
		g.Expect(restored.UID).NotTo(Equal(isolation.UID))
	}, eventually, 100*time.Millisecond).Should(Succeed())
}

// TestStrippedFinalizerForgetsTheTenant: a Tenant that goes without the
// operator removing its finalizer leaves nothing of it in memory: no written
// status, failure streak, verified marks, claim statuses, cache label maps
// or metric series.
func TestStrippedFinalizerForgetsTheTenant(t *testing.T) {
	ctx := context.Background()
	tn := selfServiceTenant("stripped", 1)
	tn.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	createTenant(t, tn)
	waitReady(t, tn.Name)
	claim := newClaim("stripped-dev", "stripped-claim")
	if err := ownerClient(t, tn.Name).Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), claim) })
	waitClaim(t, "stripped-dev", "stripped-claim", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	// Its namespaces cannot be deleted, so every deletion pass fails (a
	// failure streak) and only the stripped finalizer lets the Tenant go.
	refuseByPolicy(t, "test-refuse-stripped", []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
		admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}},
		"!(oldObject.metadata.name in ['stripped-dev', 'stripped-claim'])")
	g := NewWithT(t)
	g.Eventually(func() error {
		return k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "stripped-dev"}}, client.DryRunAll)
	}, eventually).Should(MatchError(ContainSubstring("refused by test")), "the test policy is not in force")

	r := operator.reconciler
	series := func() int {
		families, err := metricsGather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if hasLabel(m, "tenant", tn.Name) {
					n++
				}
			}
		}
		return n
	}
	// remembered names each memory still kept of the Tenant.
	remembered := func() []string {
		var kept []string
		if _, ok := r.written.Load(tn.Name); ok {
			kept = append(kept, "written status")
		}
		if r.failures.Failing(tn.Name) {
			kept = append(kept, "failure streak")
		}
		if r.verified.Remembers(tn.Name) {
			kept = append(kept, "verified marks")
		}
		r.claims.mu.Lock()
		if _, ok := r.claims.m[tn.Name]; ok {
			kept = append(kept, "claim statuses")
		}
		r.claims.mu.Unlock()
		if cache.Remembers(tn.Name) {
			kept = append(kept, "label maps")
		}
		if series() > 0 {
			kept = append(kept, "metric series")
		}
		return kept
	}
	if err := k8s.Delete(ctx, tn); err != nil {
		t.Fatal(err)
	}
	all := []string{"written status", "failure streak", "verified marks", "claim statuses", "label maps", "metric series"}
	g.Eventually(remembered, eventually, 100*time.Millisecond).Should(Equal(all),
		"a Tenant failing its deletion should have every kind of memory")
	stripFinalizer(t, tn.Name)
	g.Eventually(remembered, eventually, 100*time.Millisecond).Should(BeEmpty(),
		"the operator still remembers Tenant %s", tn.Name)
}

// TestLostInventoryNeverMakesAnAdoptedNamespaceDeletable: with its adoption
// record gone and its inventory entry lost, an adopted namespace is
// recovered as Adopted (others wrote it), so Delete still only releases it.
func TestLostInventoryNeverMakesAnAdoptedNamespaceDeletable(t *testing.T) {
	ctx := context.Background()
	createNamespace(t, "lost-adopted", map[string]string{"team": "y"})
	tn := newTenant("lost", "lost-adopted")
	tn.Spec.AdoptionPolicy = tenantryv1alpha1.AdoptionPolicyIfUnowned
	tn.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	if err := k8s.Create(ctx, tn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stripFinalizer(t, tn.Name) })
	got := waitReady(t, tn.Name)
	// As system:masters: drop the adoption record and the inventory.
	ns := get(t, &corev1.Namespace{}, "", "lost-adopted")
	if err := k8s.Patch(ctx, ns, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"tenantry.io/adopted":null}}}`))); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Status().Patch(ctx, got, client.RawPatch(types.MergePatchType, []byte(`{"status":{"inventory":null}}`))); err != nil {
		t.Fatal(err)
	}
	// The next pass (a spec change brings one) finds the namespace proven ours
	// but not in the inventory.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.NamespaceMetadata = &tenantryv1alpha1.NamespaceMetadata{Labels: map[string]tenantryv1alpha1.LabelValue{"pass": "2"}}
	})
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		e, ok := inventoryEntry(getTenant(g, tn.Name), "lost-adopted")
		g.Expect(ok).To(BeTrue(), "the inventory entry is not recovered")
		g.Expect(e.Origin).To(Equal(tenantryv1alpha1.NamespaceAdopted))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	if err := k8s.Delete(ctx, tn); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "lost-adopted"}, ns)).To(Succeed())
		g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
		g.Expect(ns.DeletionTimestamp.IsZero()).To(BeTrue(), "an adopted namespace was deleted")
	}, eventually, 100*time.Millisecond).Should(Succeed())
}
