package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Self-service namespaces: a tenant owner claims a namespace with a
// NamespaceClaim in one of the tenant's namespaces. The owner's right to do
// so comes from admin, into which kube-controller-manager aggregates the
// claim role; nobody else's owners may claim there, and a claim never takes
// an existing namespace.
var _ = Describe("NamespaceClaims", Ordered, func() {
	const (
		tenant, host      = "ncl", "ncl-dev"
		owner, ownerGroup = "nora", "ncl-owners"
		otherTenant       = "ncm"
		otherHost         = "ncm-dev"
		strangerName      = "max"
		sGroup            = "ncm-owners"
		// Bound to edit and view in ncl's namespaces by the Tenant.
		editorName, editGroup = "ed", "ncl-editors"
		viewerName, viewGroup = "vera", "ncl-viewers"
		// ncn may claim one namespace.
		limited, limitedGroup = "ncn", "ncn-owners"
	)
	var own, stranger client.Client

	newTenant := func(name, group string, selfService *tenantryv1alpha1.SelfService) *tenantryv1alpha1.Tenant {
		return &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:      []tenantryv1alpha1.Subject{{Kind: "Group", Name: group, APIGroup: rbacv1.GroupName}},
			Namespaces:  []tenantryv1alpha1.TenantNamespace{{Name: name + "-dev"}},
			SelfService: selfService,
		}}
	}
	claim := func(namespace, name string) *tenantryv1alpha1.NamespaceClaim {
		return &tenantryv1alpha1.NamespaceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	}
	// waitClaim waits for the claim's Ready condition to have reason.
	waitClaim := func(ctx SpecContext, namespace, name, reason string) *tenantryv1alpha1.NamespaceClaim {
		c := &tenantryv1alpha1.NamespaceClaim{}
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, c)).To(Succeed())
			ready := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		}).WithContext(ctx).Should(Succeed())
		return c
	}

	BeforeAll(func(ctx SpecContext) {
		tn := newTenant(tenant, ownerGroup, &tenantryv1alpha1.SelfService{
			MaxNamespaces: 3, DeletionPolicy: tenantryv1alpha1.DeletionPolicyDelete})
		tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{
			{Name: "editors", ClusterRole: "edit", Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: editGroup, APIGroup: rbacv1.GroupName}}},
			{Name: "viewers", ClusterRole: "view", Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: viewGroup, APIGroup: rbacv1.GroupName}}},
		}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		Expect(admin.Create(ctx, newTenant(otherTenant, sGroup, &tenantryv1alpha1.SelfService{MaxNamespaces: 3}))).To(Succeed())
		Expect(admin.Create(ctx, newTenant(limited, limitedGroup, &tenantryv1alpha1.SelfService{MaxNamespaces: 1}))).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			for _, name := range []string{tenant, otherTenant, limited} {
				_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
			}
			// What the Tenants' Retain policy leaves behind.
			for _, ns := range []string{"ncl-existing", "ncl-viewed", "ncm-inner", "ncm-host", "ncm-keep", "ncn-one"} {
				_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			}
		})
		waitReady(ctx, tenant)
		waitReady(ctx, otherTenant)
		waitReady(ctx, limited)
		own = clientAs(owner, ownerGroup)
		stranger = clientAs(strangerName, sGroup)
	})

	It("gives the owner a Ready namespace with Tenantry's children", func(ctx SpecContext) {
		// The aggregation controller adds the claim role to admin shortly
		// after install: retry while it is not there yet.
		Eventually(func() error { return own.Create(ctx, claim(host, "ncl-feature")) }).WithContext(ctx).Should(Succeed())
		c := waitClaim(ctx, host, "ncl-feature", tenantryv1alpha1.ReasonReconciled)
		Expect(c.Status.Namespace).To(Equal("ncl-feature"))
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: "ncl-feature", Name: "tenantry-owner"}, &rbacv1.RoleBinding{})).To(Succeed())
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: "ncl-feature", Name: "tenantry-isolation"}, &networkingv1.NetworkPolicy{})).To(Succeed())
		ns := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: "ncl-feature"}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
		Expect(ns.Labels).To(HaveKeyWithValue(tenantryv1alpha1.TenantLabel, tenant))
		// The owner works there like in any namespace of the tenant.
		Expect(own.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ncl-feature", Name: "app"}})).To(Succeed())
		tn := waitReady(ctx, tenant)
		Expect(tn.Status.Namespaces).To(ContainElement(tenantryv1alpha1.NamespaceStatus{
			Name: "ncl-feature", Phase: tenantryv1alpha1.NamespaceActive, Claim: host + "/ncl-feature"}))
	})

	It("forbids the owner of another tenant to claim there", func(ctx SpecContext) {
		err := stranger.Create(ctx, claim(host, "ncl-mine"))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(Equal(`namespaceclaims.tenantry.io is forbidden: User "` + strangerName +
			`" cannot create resource "namespaceclaims" in API group "tenantry.io" in the namespace "` + host + `"`))
	})

	It("refuses a claim for an existing namespace and leaves it untouched", func(ctx SpecContext) {
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ncl-existing",
			Labels: map[string]string{"keep": "me"}}})).To(Succeed())
		Expect(own.Create(ctx, claim(host, "ncl-existing"))).To(Succeed())
		c := waitClaim(ctx, host, "ncl-existing", tenantryv1alpha1.ReasonNamespaceExists)
		stalled := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled)
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Message).To(Equal("namespace ncl-existing exists; a claim only ever gets a namespace Tenantry creates for it"))
		Consistently(func(g Gomega) {
			ns := &corev1.Namespace{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: "ncl-existing"}, ns)).To(Succeed())
			g.Expect(ns.Labels).To(Equal(map[string]string{"keep": "me", "kubernetes.io/metadata.name": "ncl-existing"}))
			g.Expect(ns.Annotations).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("deletes a claimed namespace under Delete, with the claimed namespaces in it", func(ctx SpecContext) {
		// A claim inside the claimed namespace.
		Expect(own.Create(ctx, claim("ncl-feature", "ncl-inner"))).To(Succeed())
		waitClaim(ctx, "ncl-feature", "ncl-inner", tenantryv1alpha1.ReasonReconciled)
		// Deleting the outer claim deletes ncl-feature (Delete); the
		// namespace controller deletes the inner claim with it, and its
		// namespace follows the same policy: deleted too.
		Expect(own.Delete(ctx, claim(host, "ncl-feature"))).To(Succeed())
		for _, ns := range []string{"ncl-feature", "ncl-inner"} {
			Eventually(func() bool {
				return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}))
			}).WithContext(ctx).Should(BeTrue(), "namespace %s is deleted", ns)
		}
		waitReady(ctx, tenant)
	})

	It("releases the claimed namespaces in a deleted namespace under Retain, with their content", func(ctx SpecContext) {
		Eventually(func() error { return stranger.Create(ctx, claim(otherHost, "ncm-host")) }).WithContext(ctx).Should(Succeed())
		waitClaim(ctx, otherHost, "ncm-host", tenantryv1alpha1.ReasonReconciled)
		Expect(stranger.Create(ctx, claim("ncm-host", "ncm-inner"))).To(Succeed())
		waitClaim(ctx, "ncm-host", "ncm-inner", tenantryv1alpha1.ReasonReconciled)
		Expect(stranger.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ncm-inner", Name: "data"},
			Data: map[string]string{"k": "v"}})).To(Succeed())
		// A cluster admin deletes ncm-host; the namespace controller
		// deletes the claim in it, and ncm-inner is released (Retain).
		// The claim for ncm-host itself stays, so Tenantry makes it anew.
		old := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: "ncm-host"}, old)).To(Succeed())
		Expect(admin.Delete(ctx, old)).To(Succeed())
		Eventually(func() bool {
			ns := &corev1.Namespace{}
			err := admin.Get(ctx, client.ObjectKey{Name: "ncm-host"}, ns)
			return apierrors.IsNotFound(err) || err == nil && ns.UID != old.UID
		}).WithContext(ctx).Should(BeTrue())
		Eventually(func(g Gomega) {
			ns := &corev1.Namespace{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: "ncm-inner"}, ns)).To(Succeed())
			g.Expect(ns.DeletionTimestamp).To(BeNil())
			g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
			g.Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.ClaimAnnotation))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "ncm-inner", Name: "data"}, cm)).To(Succeed())
			g.Expect(cm.Data).To(Equal(map[string]string{"k": "v"}))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		waitReady(ctx, otherTenant)
	})

	It("lets an editor create, read and delete claims through the aggregated edit role", func(ctx SpecContext) {
		ed := clientAs(editorName, editGroup)
		// The edit binding lands with the Tenant, the aggregated rule shortly after install.
		Eventually(func() error { return ed.Create(ctx, claim(host, "ncl-edited")) }).WithContext(ctx).Should(Succeed())
		waitClaim(ctx, host, "ncl-edited", tenantryv1alpha1.ReasonReconciled)
		Expect(ed.Get(ctx, client.ObjectKey{Namespace: host, Name: "ncl-edited"}, &tenantryv1alpha1.NamespaceClaim{})).To(Succeed())
		list := &tenantryv1alpha1.NamespaceClaimList{}
		Expect(ed.List(ctx, list, client.InNamespace(host))).To(Succeed())
		Expect(list.Items).To(ContainElement(HaveField("Name", "ncl-edited")))
		Expect(ed.Delete(ctx, claim(host, "ncl-edited"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: "ncl-edited"}, &corev1.Namespace{}))
		}).WithContext(ctx).Should(BeTrue(), "ncl's selfService.deletionPolicy is Delete")
	})

	It("lets a viewer read claims through the aggregated view role, and neither create nor delete them", func(ctx SpecContext) {
		vw := clientAs(viewerName, viewGroup)
		Expect(own.Create(ctx, claim(host, "ncl-viewed"))).To(Succeed())
		key := client.ObjectKey{Namespace: host, Name: "ncl-viewed"}
		Eventually(func() error { return vw.Get(ctx, key, &tenantryv1alpha1.NamespaceClaim{}) }).WithContext(ctx).Should(Succeed())
		Expect(vw.List(ctx, &tenantryv1alpha1.NamespaceClaimList{}, client.InNamespace(host))).To(Succeed())
		err := vw.Create(ctx, claim(host, "ncl-viewer"))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(Equal(`namespaceclaims.tenantry.io is forbidden: User "` + viewerName +
			`" cannot create resource "namespaceclaims" in API group "tenantry.io" in the namespace "` + host + `"`))
		err = vw.Delete(ctx, claim(host, "ncl-viewed"))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(Equal(`namespaceclaims.tenantry.io "ncl-viewed" is forbidden: User "` + viewerName +
			`" cannot delete resource "namespaceclaims" in API group "tenantry.io" in the namespace "` + host + `"`))
		Expect(admin.Get(ctx, client.ObjectKey{Name: "ncl-viewer"}, &corev1.Namespace{})).To(Satisfy(apierrors.IsNotFound))
	})

	It("releases a claimed namespace with its content when its claim is deleted under Retain", func(ctx SpecContext) {
		Expect(stranger.Create(ctx, claim(otherHost, "ncm-keep"))).To(Succeed())
		waitClaim(ctx, otherHost, "ncm-keep", tenantryv1alpha1.ReasonReconciled)
		Expect(stranger.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ncm-keep", Name: "data"},
			Data: map[string]string{"k": "v"}})).To(Succeed())
		Expect(stranger.Delete(ctx, claim(otherHost, "ncm-keep"))).To(Succeed())
		Eventually(func(g Gomega) {
			ns := &corev1.Namespace{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: "ncm-keep"}, ns)).To(Succeed())
			g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
			g.Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.ClaimAnnotation))
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "ncm-keep", Name: "tenantry-owner"}, &rbacv1.RoleBinding{})).
				To(Satisfy(apierrors.IsNotFound))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			ns, cm := &corev1.Namespace{}, &corev1.ConfigMap{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: "ncm-keep"}, ns)).To(Succeed())
			g.Expect(ns.DeletionTimestamp).To(BeNil())
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "ncm-keep", Name: "data"}, cm)).To(Succeed())
			g.Expect(cm.Data).To(Equal(map[string]string{"k": "v"}))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(waitReady(ctx, otherTenant).Status.Namespaces).NotTo(ContainElement(HaveField("Name", "ncm-keep")))
	})

	It("refuses a claim beyond maxNamespaces and makes no namespace for it", func(ctx SpecContext) {
		lim := clientAs(limited, limitedGroup)
		Eventually(func() error { return lim.Create(ctx, claim("ncn-dev", "ncn-one")) }).WithContext(ctx).Should(Succeed())
		waitClaim(ctx, "ncn-dev", "ncn-one", tenantryv1alpha1.ReasonReconciled)
		Expect(lim.Create(ctx, claim("ncn-dev", "ncn-two"))).To(Succeed())
		c := waitClaim(ctx, "ncn-dev", "ncn-two", tenantryv1alpha1.ReasonMaxNamespaces)
		stalled := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled)
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Message).To(Equal("tenant ncn has 1 claimed namespaces, at most 1 allowed by selfService.maxNamespaces"))
		Expect(c.Status.Namespace).To(BeEmpty())
		Consistently(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: "ncn-two"}, &corev1.Namespace{}))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(BeTrue())
	})
})
