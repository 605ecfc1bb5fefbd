package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Who may change a tier: platform engineers with rights on TenantClasses.
// A tenant owner may not, and nobody but the operator may forge a class's
// rollout status or pull its finalizer from under its Tenants.
var _ = Describe("TenantClass attacks", Ordered, func() {
	const (
		class, tenant, ns = "atk-tier", "atk-classed", "atk-classed-a"
		owner, ownerGroup = "cleo", "atk-classed-owners"
		platform          = "pia" // cluster-admin, not system:masters
		platBind          = "e2e-class-platform"
		viewer            = "vic"
		viewerBind        = "e2e-class-viewer"
	)
	var own, plat, view client.Client

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: class},
			Spec: tenantryv1alpha1.TenantClassSpec{Defaults: tenantryv1alpha1.TenantDefaults{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("5")}}}}}})).To(Succeed())
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}, Spec: tenantryv1alpha1.TenantSpec{
			Class:      class,
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: ownerGroup, APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: ns}},
		}}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind},
			RoleRef: clusterRoleRef("cluster-admin"), Subjects: userSubject(platform)})).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: viewerBind},
			RoleRef: clusterRoleRef("tenantry-tenantclass-viewer-role"), Subjects: userSubject(viewer)})).To(Succeed())
		own, plat, view = clientAs(owner, ownerGroup), clientAs(platform), clientAs(viewer)
		waitReady(ctx, tenant)
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind}})
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: viewerBind}})
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})
			_ = admin.Delete(ctx, &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: class}})
		})
	})

	It("gives the class's quota to its member", func(ctx SpecContext) {
		q := &corev1.ResourceQuota{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenantry-compute"}, q)).To(Succeed())
		Expect(q.Spec.Hard.Pods().String()).To(Equal("5"))
	})

	It("refuses a tenant owner editing its class", func(ctx SpecContext) {
		c := &tenantryv1alpha1.TenantClass{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: class}, c)).To(Succeed())
		c.Spec.Defaults.ResourceQuotas[0].Hard["pods"] = resource.MustParse("5000")
		err := own.Update(ctx, c)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(Equal(`tenantclasses.tenantry.io "` + class + `" is forbidden: User "` + owner +
			`" cannot update resource "tenantclasses" in API group "tenantry.io" at the cluster scope`))
	})

	It("lets the viewer role read classes and nothing more", func(ctx SpecContext) {
		c := &tenantryv1alpha1.TenantClass{}
		Expect(view.Get(ctx, client.ObjectKey{Name: class}, c)).To(Succeed())
		err := view.Delete(ctx, c)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(Equal(`tenantclasses.tenantry.io "` + class + `" is forbidden: User "` + viewer +
			`" cannot delete resource "tenantclasses" in API group "tenantry.io" at the cluster scope`))
	})

	It("refuses a cluster admin outside system:masters forging the rollout status", func(ctx SpecContext) {
		c := &tenantryv1alpha1.TenantClass{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: class}, c)).To(Succeed())
		err := plat.Status().Patch(ctx, c, mergePatch(`{"status":{"updatedTenants":99}}`))
		expectDenied(err, "protect-tenants", "TenantClass "+class+": its status is written only by the Tenantry operator (it records what the operator owns); change the spec instead")
	})

	It("refuses a cluster admin outside system:masters stripping the class-in-use finalizer", func(ctx SpecContext) {
		c := &tenantryv1alpha1.TenantClass{}
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: class}, c)).To(Succeed())
			g.Expect(c.Finalizers).To(ContainElement(tenantryv1alpha1.ClassFinalizer))
		}).WithContext(ctx).Should(Succeed())
		Expect(plat.Delete(ctx, c)).To(Succeed()) // deleting is open to whom RBAC allows; it waits
		err := plat.Patch(ctx, c, mergePatch(`{"metadata":{"finalizers":null}}`))
		expectDenied(err, "protect-tenants", "TenantClass "+class+": only the Tenantry operator may remove finalizer tenantry.io/class-in-use, once no Tenant names the class; delete the class and the operator removes it then")
		Consistently(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: class}, c)).To(Succeed())
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		waitReady(ctx, tenant)
		// The class goes once its last Tenant does.
		Expect(admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: class}, c))
		}).WithContext(ctx).Should(BeTrue())
	})
})
