package e2e

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// A tenant-wide quota enforced by the API server's own quota admission: the
// owner creates pods in parallel across the tenant's namespaces, and the
// tenant never holds more than its total, at any moment, however the
// operator moves headroom between the namespaces.
var _ = Describe("Tenant-wide quota", Ordered, func() {
	const (
		tenant = "tq"
		owner  = "tq-owner"
	)
	nss := []string{"tq-a", "tq-b", "tq-c"}
	total := map[corev1.ResourceName]int64{corev1.ResourcePods: 12000, corev1.ResourceRequestsCPU: 1200}
	var own client.Client

	setHard := func(ctx SpecContext, pods string) {
		Eventually(func() error {
			tn := &tenantryv1alpha1.Tenant{}
			if err := admin.Get(ctx, client.ObjectKey{Name: tenant}, tn); err != nil {
				return err
			}
			tn.Spec.ResourceQuotas[0].Hard[corev1.ResourcePods] = resource.MustParse(pods)
			return admin.Update(ctx, tn)
		}).WithContext(ctx).Should(Succeed())
	}

	BeforeAll(func(ctx SpecContext) {
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}, Spec: tenantryv1alpha1.TenantSpec{
			Owners: []tenantryv1alpha1.Subject{{Kind: "User", Name: owner, APIGroup: rbacv1.GroupName}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Scope: tenantryv1alpha1.QuotaScopeTenant,
				Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("12"), corev1.ResourceRequestsCPU: resource.MustParse("1200m")}}},
		}}
		for _, ns := range nss {
			tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
		}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = admin.Delete(ctx, tn) })
		own = burstClientAs(owner)
	})

	It("splits the total between the namespaces and lets the owner in only once admission enforces it", func(ctx SpecContext) {
		waitReady(ctx, tenant)
		Eventually(func(g Gomega) {
			sums, err := shareSums(ctx, tenant, "compute")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(sums).To(Equal(total))
		}).WithContext(ctx).Should(Succeed())
		for _, ns := range nss {
			rq := &corev1.ResourceQuota{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenantry-compute"}, rq)).To(Succeed())
			Expect(rq.Status.Hard).To(HaveKey(corev1.ResourcePods), "the owner's binding exists before the quota controller enforced the share")
		}
		st := quotaStatus(ctx, tenant)
		Expect(st.Hard.Pods().String()).To(Equal("12"))
		Expect(st.Used.Pods().Value()).To(BeZero())
	})

	It("admits no more than the total, every round, and fills it exactly with retries", func(ctx SpecContext) {
		picks := map[string]func(int) string{
			"all in one namespace":    func(int) string { return nss[0] },
			"spread evenly":           func(w int) string { return nss[w%len(nss)] },
			"a random namespace each": func(int) string { return nss[rand.IntN(len(nss))] },
		}
		for round, name := range []string{"all in one namespace", "spread evenly", "a random namespace each", "all in one namespace"} {
			By(fmt.Sprintf("round %d: %s", round, name))
			admitted, violations, undercounts := race(ctx, own, tenant, total, 9, 12, picks[name], round)
			Expect(violations).To(BeEmpty())
			// Exactly the total, but for pods the quota controller's own
			// recounts lost (an upstream race; see watchUndercounts).
			// Short of it only by creates admission charged that failed
			// afterwards (an upstream property; see overcharged).
			lost := overcharged(ctx, tenant, nss)
			GinkgoWriter.Printf("round %d: %d admitted, %d pods lost by recounts, %d charged for failed creates\n", round, admitted, undercounts, lost)
			Expect(podsIn(ctx, nss)).To(BeNumerically(">=", 12-lost), "admitted %d%s", admitted, quotaDump(ctx, tenant))
			Expect(podsIn(ctx, nss)).To(BeNumerically("<=", 12+undercounts), "admitted %d with %d pods lost by recounts%s", admitted, undercounts, quotaDump(ctx, tenant))
			// One more is refused everywhere.
			for _, ns := range nss {
				Expect(own.Create(ctx, quotaPod(ns, fmt.Sprintf("extra-%d", round)))).To(MatchError(ContainSubstring("exceeded quota: tenantry-compute")))
			}
			deletePods(ctx, tenant, nss)
		}
	})

	It("moves freed usage from one namespace to another", func(ctx SpecContext) {
		admitted, violations, _ := race(ctx, own, tenant, total, 3, 12, func(int) string { return "tq-a" }, 10)
		Expect(violations).To(BeEmpty())
		Expect(admitted).To(BeNumerically(">=", 12-overcharged(ctx, tenant, nss)))
		Expect(admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace("tq-a"), client.GracePeriodSeconds(0))).To(Succeed())
		admitted, violations, undercounts := race(ctx, own, tenant, total, 3, 12, func(int) string { return "tq-b" }, 11)
		Expect(violations).To(BeEmpty())
		Expect(admitted).To(BeNumerically(">=", 12-overcharged(ctx, tenant, nss)))
		Expect(podsIn(ctx, []string{"tq-b"})).To(BeNumerically("<=", 12+undercounts))
		deletePods(ctx, tenant, nss)
	})

	It("stops admitting when the Tenant's hard is lowered below usage, and resumes once usage drains", func(ctx SpecContext) {
		for i := range 6 {
			Eventually(func() error { return own.Create(ctx, quotaPod("tq-a", fmt.Sprintf("lowered-%d", i))) }).WithContext(ctx).Should(Succeed())
		}
		setHard(ctx, "4")
		waitReady(ctx, tenant)
		Eventually(func(g Gomega) {
			sums, err := shareSums(ctx, tenant, "compute")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(sums[corev1.ResourcePods]).To(BeNumerically("<=", 4000))
		}).WithContext(ctx).Should(Succeed())
		for _, ns := range nss {
			Expect(own.Create(ctx, quotaPod(ns, "over"))).To(MatchError(ContainSubstring("exceeded quota: tenantry-compute")))
		}
		st := quotaStatus(ctx, tenant)
		Expect(st.Hard.Pods().String()).To(Equal("4"))
		Expect(st.Used.Pods().Value()).To(BeEquivalentTo(6))

		var pods corev1.PodList
		Expect(admin.List(ctx, &pods, client.InNamespace("tq-a"))).To(Succeed())
		for _, p := range pods.Items[:3] {
			Expect(admin.Delete(ctx, &p, client.GracePeriodSeconds(0))).To(Succeed())
		}
		// One pod of headroom is less than one per namespace: it sits with
		// the busiest (tq-a); the owner's retries find it.
		admitted, violations, undercounts := race(ctx, own, tenant, map[corev1.ResourceName]int64{corev1.ResourcePods: 4000, corev1.ResourceRequestsCPU: 1200},
			3, 1, func(int) string { return nss[rand.IntN(len(nss))] }, 21)
		Expect(violations).To(BeEmpty())
		Expect(admitted).To(BeNumerically(">=", 1-overcharged(ctx, tenant, nss)))
		Expect(podsIn(ctx, nss)).To(BeNumerically("<=", 4+undercounts))
		setHard(ctx, "12")
		waitReady(ctx, tenant)
		deletePods(ctx, tenant, nss)
	})

	It("gives a namespace added to the Tenant its share, within the total", func(ctx SpecContext) {
		Eventually(func() error {
			tn := &tenantryv1alpha1.Tenant{}
			if err := admin.Get(ctx, client.ObjectKey{Name: tenant}, tn); err != nil {
				return err
			}
			tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "tq-d"})
			return admin.Update(ctx, tn)
		}).WithContext(ctx).Should(Succeed())
		waitReady(ctx, tenant)
		nss = append(nss, "tq-d")
		// Its share grows once the others' shrinks are enforced.
		Eventually(func(g Gomega) {
			sums, err := shareSums(ctx, tenant, "compute")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(sums).To(Equal(total))
		}).WithContext(ctx).Should(Succeed())
		Eventually(func() error { return own.Create(ctx, quotaPod("tq-d", "new-ns")) }).WithContext(ctx).Should(Succeed())
		deletePods(ctx, tenant, nss)
	})

	It("corrects a hand-edited share to the current allocation", func(ctx SpecContext) {
		// The allocation settled first (no usage: a quarter each): an edit
		// that meets a share Tenantry is still moving is overwritten by
		// that move, which is no correction to record.
		Eventually(func(g Gomega) {
			var list corev1.ResourceQuotaList
			g.Expect(admin.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant})).To(Succeed())
			g.Expect(list.Items).To(HaveLen(4))
			for _, rq := range list.Items {
				g.Expect(rq.Spec.Hard.Pods().String()).To(Equal("3"), rq.Namespace)
			}
		}).WithContext(ctx).Should(Succeed())
		waitReady(ctx, tenant)
		// The quota controller writes the same object: retry on a conflict.
		Eventually(func() error {
			rq := &corev1.ResourceQuota{}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: "tq-b", Name: "tenantry-compute"}, rq); err != nil {
				return err
			}
			rq.Spec.Hard[corev1.ResourcePods] = resource.MustParse("50")
			return admin.Update(ctx, rq, client.FieldOwner("kubectl-edit"))
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			got := &corev1.ResourceQuota{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "tq-b", Name: "tenantry-compute"}, got)).To(Succeed())
			// Not the share it had before the edit: a fresh split of the
			// total by today's usage (none), a quarter each.
			g.Expect(got.Spec.Hard.Pods().String()).To(Equal("3"))
			sums, err := shareSums(ctx, tenant, "compute")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(sums).To(Equal(total))
		}).WithContext(ctx).Should(Succeed())
		// The pass that corrected it writes the record after the quota.
		Eventually(func(g Gomega) {
			tn := &tenantryv1alpha1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: tenant}, tn)).To(Succeed())
			g.Expect(tn.Status.Drift).To(ContainElement(And(HaveField("Name", "tenantry-compute"), HaveField("Namespace", "tq-b"),
				HaveField("Manager", "kubectl-edit"), HaveField("Action", tenantryv1alpha1.DriftActionCorrected))))
		}).WithContext(ctx).Should(Succeed())
		waitReady(ctx, tenant)
	})

	It("writes nothing on a restart when nothing changed", func(ctx SpecContext) {
		versions := func() []string {
			var out []string
			tn := &tenantryv1alpha1.Tenant{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: tenant}, tn)).To(Succeed())
			out = append(out, "Tenant="+tn.ResourceVersion)
			for _, ns := range nss {
				var rqs corev1.ResourceQuotaList
				Expect(admin.List(ctx, &rqs, client.InNamespace(ns))).To(Succeed())
				for _, rq := range rqs.Items {
					out = append(out, ns+"/"+rq.Name+"="+rq.ResourceVersion)
				}
				var rbs rbacv1.RoleBindingList
				Expect(admin.List(ctx, &rbs, client.InNamespace(ns))).To(Succeed())
				for _, rb := range rbs.Items {
					out = append(out, ns+"/"+rb.Name+"="+rb.ResourceVersion)
				}
			}
			slices.Sort(out)
			return out
		}
		waitReady(ctx, tenant)
		before := versions()
		Expect(operator.Stop()).To(Succeed())
		var err error
		operator, err = cluster.StartOperator(ctx, localcluster.OperatorOptions{Binary: managerBinary(),
			Namespace: operatorNamespace, ServiceAccount: operatorSA, Dir: filepath.Join(workDir, "operator")})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			text, err := operator.Metrics(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(text).To(MatchRegexp(`controller_runtime_reconcile_total\{controller="tenant",result="(success|requeue_after)"\} [1-9]`))
		}).WithContext(ctx).Should(Succeed())
		Consistently(versions).WithContext(ctx).WithTimeout(3 * 1e9).Should(Equal(before))
	})
})
