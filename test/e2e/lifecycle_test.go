package e2e

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

var _ = Describe("Tenant lifecycle", func() {
	It("makes the samples Ready", func(ctx SpecContext) {
		_, err := cluster.Kubectl(ctx, "apply", "-k", filepath.Join(repoRoot, "config", "samples"))
		Expect(err).NotTo(HaveOccurred())
		for _, name := range []string{"team-a", "data-science"} {
			tn := waitReady(ctx, name)
			Expect(tn.Status.NamespaceCount).To(Equal(int32(2)))
		}
		out, err := cluster.Kubectl(ctx, "get", "tenants")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(MatchRegexp(`team-a\s+True\s+2\s+False`))
	})

	It("exports per-tenant metrics, quota usage summed over the tenant's namespaces", func(ctx SpecContext) {
		waitReady(ctx, "team-a")
		// The resource quota controller fills in status.hard; the collector sums it.
		Eventually(func(g Gomega) {
			text, err := operator.Metrics(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(text).To(ContainSubstring(`tenantry_tenant_ready{tenant="team-a"} 1`))
			g.Expect(text).To(ContainSubstring(`tenantry_managed_objects{tenant="team-a"} 16`))
			// 2 namespaces × requests.cpu "4" and pods "40".
			g.Expect(text).To(ContainSubstring(`tenantry_tenant_quota_hard{resource="requests.cpu",tenant="team-a"} 8`))
			g.Expect(text).To(ContainSubstring(`tenantry_tenant_quota_hard{resource="pods",tenant="team-a"} 80`))
			g.Expect(text).To(ContainSubstring(`tenantry_tenant_quota_used{resource="pods",tenant="team-a"} 0`))
		}).WithContext(ctx).Should(Succeed())
	})

	It("deletes namespaces with deletionPolicy Delete, and lets the Tenant go only once they are gone", func(ctx SpecContext) {
		tn := &tenantryv1alpha1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Name: "doomed"},
			Spec: tenantryv1alpha1.TenantSpec{
				Owners:         []tenantryv1alpha1.Subject{{Kind: "User", Name: "d", APIGroup: rbacv1.GroupName}},
				Namespaces:     []tenantryv1alpha1.TenantNamespace{{Name: "doomed-1"}, {Name: "doomed-2"}},
				DeletionPolicy: tenantryv1alpha1.DeletionPolicyDelete,
			},
		}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		waitReady(ctx, tn.Name)
		Expect(admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "doomed-1", Name: "content"}})).To(Succeed())

		Expect(admin.Delete(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			err := admin.Get(ctx, client.ObjectKey{Name: tn.Name}, &tenantryv1alpha1.Tenant{})
			if apierrors.IsNotFound(err) {
				// The finalizer went: every namespace must be gone already.
				for _, ns := range []string{"doomed-1", "doomed-2"} {
					g.Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}))).To(BeTrue(), "Tenant finalized while %s exists", ns)
				}
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(false).To(BeTrue(), "Tenant still there")
		}).WithTimeout(2 * time.Minute).WithContext(ctx).Should(Succeed())
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: "tenantry:tenant:doomed"}, &rbacv1.ClusterRole{}))).To(BeTrue())
	})

	It("keeps garbage collection working on Tenantry-labelled objects with the policy installed", func(ctx SpecContext) {
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a-dev", Name: "gc-owner"}}
		Expect(admin.Create(ctx, owner)).To(Succeed())
		// A labelled object whose owner goes away: only the garbage collector
		// (kube-controller-manager, exempt by the policy) may remove it. It is
		// labelled for a tenant that does not exist, so Tenantry's pruning
		// cannot be what removes it.
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a-dev", Name: "gc-orphan",
			Labels:          map[string]string{tenantryv1alpha1.TenantLabel: "no-such-tenant"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(true)}}}}
		Expect(admin.Create(ctx, np)).To(Succeed())
		Expect(admin.Delete(ctx, owner)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(np), &networkingv1.NetworkPolicy{}))
		}).WithTimeout(90 * time.Second).WithContext(ctx).Should(BeTrue())
	})
})
