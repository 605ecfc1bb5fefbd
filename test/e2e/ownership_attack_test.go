package e2e

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

const (
	ownEnforceLabel = "pod-security.kubernetes.io/enforce"
	ownSystemNSMsg  = "a system namespace (default, kube-system, kube-public, kube-node-lease) can never be a tenant namespace"
)

// ownTenant is a Tenant owned by User owner with the named namespaces.
func ownTenant(name, owner string, deletion tenantryv1alpha1.DeletionPolicy, adoption tenantryv1alpha1.AdoptionPolicy, nss ...string) *tenantryv1alpha1.Tenant {
	tn := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:         []tenantryv1alpha1.Subject{{Kind: "User", Name: owner, APIGroup: rbacv1.GroupName}},
			DeletionPolicy: deletion,
			AdoptionPolicy: adoption,
		},
	}
	for _, ns := range nss {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
	}
	return tn
}

// ownWaitStalled waits until the Tenant's status, at its generation, says
// Stalled with reason and Ready=False with the same reason.
func ownWaitStalled(ctx context.Context, name, reason string) *tenantryv1alpha1.Tenant {
	GinkgoHelper()
	tn := &tenantryv1alpha1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
		g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
		stalled := meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil(), "not Stalled: %+v", tn.Status.Conditions)
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(reason), "Stalled: %s", stalled.Message)
		ready := meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(reason))
	}).WithTimeout(time.Minute).WithContext(ctx).Should(Succeed())
	return tn
}

// ownNamespaceStatus is the Tenant's status entry for namespace ns.
func ownNamespaceStatus(tn *tenantryv1alpha1.Tenant, ns string) tenantryv1alpha1.NamespaceStatus {
	GinkgoHelper()
	for _, st := range tn.Status.Namespaces {
		if st.Name == ns {
			return st
		}
	}
	Fail("no status.namespaces entry for " + ns)
	return tenantryv1alpha1.NamespaceStatus{}
}

// ownWaitGone deletes the Tenant and waits until the API server has let it go.
func ownWaitGone(ctx context.Context, c client.Client, name string) {
	GinkgoHelper()
	err := c.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
	Expect(client.IgnoreNotFound(err)).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: name}, &tenantryv1alpha1.Tenant{}))
	}).WithTimeout(2*time.Minute).WithContext(ctx).Should(BeTrue(), "Tenant %s not gone", name)
}

// ownForceGone strips the Tenant's finalizer as system:masters and deletes
// it at the resourceVersion the strip produced: if the operator put the
// finalizer back in between, the delete conflicts and is tried again. The
// operator never sees the Tenant being deleted, and cleans up nothing.
func ownForceGone(ctx context.Context, name string) {
	GinkgoHelper()
	// Unthrottled: a client-side wait between the two writes lets the
	// operator put the finalizer back every time.
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0
	fast, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Eventually(func(g Gomega) {
		tn := &tenantryv1alpha1.Tenant{}
		g.Expect(fast.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
		g.Expect(tn.DeletionTimestamp).To(BeNil(), "the Tenant must not be deleted with its finalizer on")
		g.Expect(fast.Patch(ctx, tn, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))).To(Succeed())
		rv := tn.ResourceVersion
		g.Expect(fast.Delete(ctx, tn, client.Preconditions{ResourceVersion: &rv})).To(Succeed())
	}).WithTimeout(time.Minute).WithContext(ctx).Should(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: name}, &tenantryv1alpha1.Tenant{}))
	}).WithTimeout(time.Minute).WithContext(ctx).Should(BeTrue())
}

// ownNamespace reads a namespace that must exist and not be terminating.
func ownNamespace(ctx context.Context, name string) *corev1.Namespace {
	GinkgoHelper()
	ns := &corev1.Namespace{}
	Expect(admin.Get(ctx, client.ObjectKey{Name: name}, ns)).To(Succeed(), "namespace %s must survive", name)
	Expect(ns.DeletionTimestamp).To(BeNil(), "namespace %s is being deleted", name)
	return ns
}

// ownExpectConfigMap asserts that ConfigMap name in ns still holds its data.
func ownExpectConfigMap(ctx context.Context, ns, name string) {
	GinkgoHelper()
	cm := &corev1.ConfigMap{}
	Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed(), "ConfigMap %s/%s lost", ns, name)
	Expect(cm.Data).To(HaveKeyWithValue("data", "precious"))
}

func ownConfigMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"data": "precious"}}
}

// ownWarnings are the notes of Warning Events about the Tenant of uid with reason.
func ownWarnings(ctx context.Context, uid types.UID, reason string) []string {
	var list eventsv1.EventList
	Expect(admin.List(ctx, &list)).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Tenant" && e.Regarding.UID == uid && e.Reason == reason && e.Type == corev1.EventTypeWarning {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// expectRepaired waits until the Tenant is Ready with no drift left, the
// squatted RoleBinding tenantry-deploy (UID squat) replaced by Tenantry's
// (roleRef edit, the squatter's annotation kept) and isolation in place.
func expectRepaired(ctx context.Context, name string, squat types.UID, deployer string) *tenantryv1alpha1.Tenant {
	GinkgoHelper()
	tn := &tenantryv1alpha1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
		g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
		g.Expect(meta.IsStatusConditionTrue(tn.Status.Conditions, tenantryv1alpha1.ConditionReady)).To(BeTrue(), "%+v", tn.Status.Conditions)
		g.Expect(meta.IsStatusConditionTrue(tn.Status.Conditions, tenantryv1alpha1.ConditionDrifted)).To(BeFalse(), "%+v", tn.Status.Conditions)
		rb := &rbacv1.RoleBinding{}
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: name, Name: "tenantry-deploy"}, rb)).To(Succeed())
		g.Expect(rb.UID).NotTo(Equal(squat), "replaced, not patched")
		g.Expect(rb.RoleRef.Name).To(Equal("edit"))
		g.Expect(rb.Subjects).To(Equal([]rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: deployer}}))
		g.Expect(rb.Labels).To(HaveKeyWithValue(tenantryv1alpha1.TenantLabel, name))
		g.Expect(rb.Annotations).To(HaveKeyWithValue("note", "mine"))
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: name, Name: "tenantry-isolation"}, &networkingv1.NetworkPolicy{})).To(Succeed())
	}).WithTimeout(90 * time.Second).WithContext(ctx).Should(Succeed())
	return tn
}

var _ = Describe("Ownership attacks", func() {
	Context("protected namespaces", Ordered, func() {
		const (
			engineer   = "own-pat" // holds tenantry-tenant-editor-role only
			editorBind = "e2e-own-tenant-editor"
			grab       = "own-grab"
		)

		BeforeAll(func(ctx SpecContext) {
			Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editorBind},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "tenantry-tenant-editor-role"},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: engineer}}})).To(Succeed())
			DeferCleanup(func(ctx SpecContext) {
				_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editorBind}})
			})
		})

		DescribeTable("the CRD refuses a system namespace",
			func(ctx SpecContext, system string) {
				err := admin.Create(ctx, ownTenant("own-sys", "own-sys", "", "", "own-sys-ok", system))
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
				Expect(err).To(MatchError(ContainSubstring("spec.namespaces[1].name")))
				Expect(err).To(MatchError(ContainSubstring(ownSystemNSMsg)))
				err = admin.Create(ctx, ownTenant("own-sys", "own-sys", "", "", system))
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
				Expect(err).To(MatchError(ContainSubstring("spec.namespaces[0].name")))
				Expect(err).To(MatchError(ContainSubstring(ownSystemNSMsg)))
			},
			Entry("default", "default"),
			Entry("kube-system", "kube-system"),
			Entry("kube-public", "kube-public"),
			Entry("kube-node-lease", "kube-node-lease"),
		)

		It("never makes the operator's namespace a tenant namespace, so a Tenant editor gets no token of the operator", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
			before := ownNamespace(ctx, operatorNamespace)
			eng := clientAs(engineer)
			tn := ownTenant(grab, engineer, tenantryv1alpha1.DeletionPolicyRetain, tenantryv1alpha1.AdoptionPolicyIfUnowned, operatorNamespace)
			tn.Spec.PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityPrivileged}
			Expect(eng.Create(ctx, tn)).To(Succeed(), "the API accepts it; the operator refuses it")
			DeferCleanup(func(ctx SpecContext) {
				_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: grab}})
			})

			tn = ownWaitStalled(ctx, grab, tenantryv1alpha1.ReasonNamespaceProtected)
			st := ownNamespaceStatus(tn, operatorNamespace)
			Expect(st.Phase).To(Equal(tenantryv1alpha1.NamespaceConflict))
			Expect(st.Message).To(Equal("namespace " + operatorNamespace + " is the Tenantry operator's own and can never be a tenant namespace"))
			Expect(tn.Status.Inventory).To(BeEmpty())

			expectUntouched := func(g Gomega) {
				now := &corev1.Namespace{}
				g.Expect(admin.Get(ctx, client.ObjectKey{Name: operatorNamespace}, now)).To(Succeed())
				g.Expect(now.UID).To(Equal(before.UID))
				g.Expect(now.Labels).To(Equal(before.Labels), "no tenantry.io/tenant label, pod-security labels as they were")
				g.Expect(now.Annotations).NotTo(HaveKey(tenantryv1alpha1.TenantUIDAnnotation))
				g.Expect(now.Annotations).NotTo(HaveKey(tenantryv1alpha1.AdoptedAnnotation))
			}
			Consistently(expectUntouched).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
			err := admin.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "tenantry-owner"}, &rbacv1.RoleBinding{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no owner binding in the operator's namespace: %v", err)

			By("the engineer asks for a token of the operator's ServiceAccount")
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: operatorSA}}
			err = eng.SubResource("token").Create(ctx, sa, &authenticationv1.TokenRequest{})
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			Expect(err).To(MatchError(ContainSubstring(rbacDenied(engineer, "create", "serviceaccounts/token", "", operatorNamespace))))
			Expect(eng.List(ctx, &corev1.SecretList{}, client.InNamespace(operatorNamespace))).
				To(MatchError(ContainSubstring(rbacDenied(engineer, "list", "secrets", "", operatorNamespace))))

			By("deleting the Tenant leaves the namespace as it was")
			ownWaitGone(ctx, eng, grab)
			expectUntouched(Default)
		})
	})

	It("does not hand a namespace left by a deleted Tenant to a new Tenant of the same name, nor delete it", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		const (
			name, nsA, nsB = "own-reuse", "own-reuse-a", "own-reuse-b"
			mallory        = "own-mallory" // owner of the Tenants that reuse the name
		)
		del, never := tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.AdoptionPolicyNever
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
			_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsA}})
		})
		Expect(admin.Create(ctx, ownTenant(name, "own-reuse-owner", del, never, nsA))).To(Succeed())
		first := waitReady(ctx, name)
		ns := ownNamespace(ctx, nsA)
		Expect(ns.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.TenantUIDAnnotation, string(first.UID)))
		Expect(first.Status.Inventory).To(Equal([]tenantryv1alpha1.InventoryEntry{{Name: nsA, UID: ns.UID, Origin: tenantryv1alpha1.NamespaceCreated}}))
		Expect(admin.Create(ctx, ownConfigMap(nsA, "data"))).To(Succeed())

		By("a cluster admin strips the finalizer and deletes the Tenant: the namespace is left behind, labelled")
		ownForceGone(ctx, name)
		ns = ownNamespace(ctx, nsA)
		Expect(ns.Labels).To(HaveKeyWithValue(tenantryv1alpha1.TenantLabel, name))
		Expect(ns.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.TenantUIDAnnotation, string(first.UID)))

		By("a new Tenant of the same name lists it")
		Expect(admin.Create(ctx, ownTenant(name, mallory, del, never, nsA))).To(Succeed())
		second := ownWaitStalled(ctx, name, tenantryv1alpha1.ReasonNamespaceConflict)
		Expect(second.UID).NotTo(Equal(first.UID))
		st := ownNamespaceStatus(second, nsA)
		Expect(st.Phase).To(Equal(tenantryv1alpha1.NamespaceConflict))
		Expect(st.Message).To(ContainSubstring("namespace was left by an earlier Tenant named " + name +
			" (uid " + string(first.UID) + "); set adoptionPolicy: IfUnowned to adopt it"))
		Expect(second.Status.Inventory).To(BeEmpty())
		mal := clientAs(mallory)
		Expect(mal.List(ctx, &corev1.SecretList{}, client.InNamespace(nsA))).
			To(MatchError(ContainSubstring(rbacDenied(mallory, "list", "secrets", "", nsA))))
		Expect(mal.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "data"}, &corev1.ConfigMap{})).
			To(MatchError(ContainSubstring(rbacDenied(mallory, "get", "configmaps", "", nsA))))
		ns = ownNamespace(ctx, nsA)
		Expect(ns.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.TenantUIDAnnotation, string(first.UID)), "the proof is not rewritten")

		By("deleting that Tenant (deletionPolicy Delete) deletes nothing")
		ownWaitGone(ctx, admin, name)
		Expect(ownNamespace(ctx, nsA).UID).To(Equal(ns.UID))
		ownExpectConfigMap(ctx, nsA, "data")

		By("a third Tenant of the name, not listing it, reports it and leaves it when deleted")
		Expect(admin.Create(ctx, ownTenant(name, mallory, del, never, nsB))).To(Succeed())
		third := waitReady(ctx, name)
		Expect(third.Status.Conflicts).To(ContainElement(tenantryv1alpha1.ObjectConflict{Kind: "Namespace", Name: nsA,
			Message: "made for an earlier Tenant named " + name + " (uid " + string(first.UID) + "); never modified or deleted"}))
		Expect(third.Status.Inventory).To(HaveLen(1))
		Expect(third.Status.Inventory[0].Name).To(Equal(nsB))
		Expect(third.Status.Inventory[0].Origin).To(Equal(tenantryv1alpha1.NamespaceCreated))
		Eventually(func() []string { return ownWarnings(ctx, third.UID, tenantryv1alpha1.EventOwnershipConflict) }).
			WithTimeout(time.Minute).WithContext(ctx).Should(ContainElement(And(ContainSubstring(nsA), ContainSubstring("uid "+string(first.UID)))))
		ownWaitGone(ctx, admin, name)
		Expect(ownNamespace(ctx, nsA).UID).To(Equal(ns.UID))
		ownExpectConfigMap(ctx, nsA, "data")
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: nsB}, &corev1.Namespace{}))).To(BeTrue(),
			"the namespace the third Tenant created is deleted under its Delete policy")
	})

	It("adopts a namespace left by an earlier Tenant of its name, and under Delete only releases it, wholly", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		const name, ns = "own-left", "own-left-a"
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
			_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		})
		Expect(admin.Create(ctx, ownTenant(name, "own-left-owner", tenantryv1alpha1.DeletionPolicyDelete, "", ns))).To(Succeed())
		waitReady(ctx, name)
		Expect(admin.Create(ctx, ownConfigMap(ns, "data"))).To(Succeed())
		ownForceGone(ctx, name)
		left := ownNamespace(ctx, ns)

		Expect(admin.Create(ctx, ownTenant(name, "own-left-owner", tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.AdoptionPolicyIfUnowned, ns))).To(Succeed())
		tn := waitReady(ctx, name)
		Expect(tn.Status.Inventory).To(Equal([]tenantryv1alpha1.InventoryEntry{{Name: ns, UID: left.UID, Origin: tenantryv1alpha1.NamespaceAdopted}}),
			"this Tenant did not create it")
		Expect(ownNamespace(ctx, ns).Annotations).To(HaveKeyWithValue(tenantryv1alpha1.TenantUIDAnnotation, string(tn.UID)))

		ownWaitGone(ctx, admin, name)
		released := ownNamespace(ctx, ns)
		Expect(released.UID).To(Equal(left.UID), "an adopted namespace is never deleted")
		ownExpectConfigMap(ctx, ns, "data")
		Expect(released.Annotations).NotTo(HaveKey(tenantryv1alpha1.TenantUIDAnnotation))
		Expect(released.Annotations).NotTo(HaveKey(tenantryv1alpha1.AdoptedAnnotation))
		Expect(released.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel), "released, it is no Tenant's: the earlier Tenant's label is not put back")
	})

	It("adopts under deletionPolicy Delete but only releases, putting back what adoption changed", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		const name = "own-adopt"
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{ownEnforceLabel: "privileged", "team": "x"}}})).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
			_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		})
		Expect(admin.Create(ctx, ownConfigMap(name, "keep"))).To(Succeed())
		before := ownNamespace(ctx, name)

		tn := ownTenant(name, "own-adopt-owner", tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.AdoptionPolicyIfUnowned, name)
		tn.Spec.PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityRestricted}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		tn = waitReady(ctx, name)
		Expect(tn.Status.Inventory).To(Equal([]tenantryv1alpha1.InventoryEntry{{Name: name, UID: before.UID, Origin: tenantryv1alpha1.NamespaceAdopted}}))
		ns := ownNamespace(ctx, name)
		Expect(ns.Labels).To(HaveKeyWithValue(tenantryv1alpha1.TenantLabel, name))
		Expect(ns.Labels).To(HaveKeyWithValue(ownEnforceLabel, "restricted"))
		Expect(ns.Labels).To(HaveKeyWithValue("team", "x"))
		Expect(ns.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.TenantUIDAnnotation, string(tn.UID)))
		Expect(ns.Annotations).To(HaveKey(tenantryv1alpha1.AdoptedAnnotation))

		ownWaitGone(ctx, admin, name)
		ns = ownNamespace(ctx, name)
		Expect(ns.UID).To(Equal(before.UID), "an adopted namespace is never deleted")
		Expect(ns.Labels).To(Equal(before.Labels), "released: no tenantry.io/tenant, enforce back to privileged, team kept")
		Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.TenantUIDAnnotation))
		Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.AdoptedAnnotation))
		ownExpectConfigMap(ctx, name, "keep")
	})

	It("replaces a squatted tenantry-* binding and keeps repairing drift in the same pass", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		const name, owner = "own-rb", "own-rb-owner"
		Expect(admin.Create(ctx, ownTenant(name, owner, "", "", name))).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { ownWaitGone(ctx, admin, name) })
		waitReady(ctx, name)

		squat := func() *rbacv1.RoleBinding {
			return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenantry-deploy", Annotations: map[string]string{"note": "mine"}},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "own-squatter"}}}
		}
		err := clientAs(owner).Create(ctx, squat())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("ValidatingAdmissionPolicy")))
		Expect(err).To(MatchError(ContainSubstring("tenantry-deploy")))

		By("a cluster admin squats the name, then the spec asks for it while isolation is deleted")
		squatted := squat()
		Expect(admin.Create(ctx, squatted)).To(Succeed())
		deployer := tenantryv1alpha1.Subject{Kind: "User", Name: "own-rb-deployer", APIGroup: rbacv1.GroupName}
		Eventually(func() error {
			tn := &tenantryv1alpha1.Tenant{}
			if err := admin.Get(ctx, client.ObjectKey{Name: name}, tn); err != nil {
				return err
			}
			tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "deploy", ClusterRole: "edit", Subjects: []tenantryv1alpha1.Subject{deployer}}}
			return admin.Update(ctx, tn)
		}).WithTimeout(time.Minute).WithContext(ctx).Should(Succeed())
		Expect(admin.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenantry-isolation"}})).To(Succeed())

		// The pass at the new generation takes what is missing for new (a
		// spec change is not drift), so isolation is restored, but whether as
		// drift depends on which pass saw its deletion first.
		tn := expectRepaired(ctx, name, squatted.UID, deployer.Name)
		GinkgoWriter.Printf("isolation deleted during the spec change: Drifted %+v\n",
			meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionDrifted))

		By("with the spec observed, an admin squats tenantry-deploy again and deletes isolation: both are drift, both repaired")
		since := metav1.Now()
		Eventually(func(g Gomega) {
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenantry-deploy"}}
			g.Expect(client.IgnoreNotFound(admin.Delete(ctx, rb))).To(Succeed())
			squatted = squat()
			g.Expect(admin.Create(ctx, squatted)).To(Succeed(), "the operator restored it first; again")
		}).WithTimeout(time.Minute).WithContext(ctx).Should(Succeed())
		Expect(admin.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenantry-isolation"}})).To(Succeed())
		Eventually(func(g Gomega) {
			tn := &tenantryv1alpha1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
			drifted := meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionDrifted)
			g.Expect(drifted).NotTo(BeNil())
			g.Expect(drifted.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(drifted.Reason).To(Equal(tenantryv1alpha1.ReasonDriftCorrected), drifted.Message)
			g.Expect(tn.Status.Drift).To(ContainElement(And(
				HaveField("Kind", "NetworkPolicy"), HaveField("Namespace", name), HaveField("Name", "tenantry-isolation"),
				HaveField("Action", tenantryv1alpha1.DriftActionRecreated), HaveField("Time.Time", Not(BeTemporally("<", since.Truncate(time.Second)))))))
		}).WithTimeout(90 * time.Second).WithContext(ctx).Should(Succeed())
		expectRepaired(ctx, name, squatted.UID, deployer.Name)
	})
})
