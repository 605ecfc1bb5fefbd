package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// The platform's Flux objects in each cluster: GitRepository and
// Kustomization flux-system/tenants, path clusters/<cluster>.
const platformSync = "tenants"

// ledgerTenant joins east in a commit while east's operator is stopped.
const ledgerTenant = `apiVersion: tenantry.io/v1alpha1
kind: Tenant
metadata:
  name: ledger
spec:
  class: standard
  owners:
  - {kind: Group, name: ledger-admins, apiGroup: rbac.authorization.k8s.io}
  namespaces:
  - name: ledger
`

// What each cluster's overlay holds.
var overlayTenants = map[string][]string{
	"east": {"payments", "search", "web"},
	"west": {"analytics", "payments", "search", "web"},
}

var _ = Describe("Tenants synced by Flux into two clusters", Ordered, func() {
	both := func() []*env { return []*env{east, west} }

	platformKustomization := func(ctx context.Context, g Gomega, e *env) fluxStatus {
		return e.kustomization(ctx, g, localcluster.FluxNamespace, platformSync)
	}
	// pushAndNudge commits, then nudges both clusters' source as a webhook
	// receiver would; it returns the commit and when it was pushed.
	pushAndNudge := func(ctx context.Context, message string, change func(dir string) error) (string, time.Time) {
		pushed := time.Now()
		sha, err := repo.commit(message, change)
		Expect(err).NotTo(HaveOccurred())
		for _, e := range both() {
			e.nudge(ctx, gitRepositoryGVK, localcluster.FluxNamespace, platformSync)
		}
		return sha, pushed
	}
	// expectApplied waits until both clusters' Kustomization is Ready at sha.
	expectApplied := func(ctx context.Context, sha string) {
		for _, e := range both() {
			Eventually(func(g Gomega) {
				s := platformKustomization(ctx, g, e)
				g.Expect(s.readyIs(metav1.ConditionTrue)).To(BeTrue(), "%s: %s", e.name, s)
				g.Expect(s.lastAppliedRevision).To(Equal(revisionRef(sha)), "%s", e.name)
			}).WithContext(ctx).Should(Succeed())
		}
	}

	It("applies each cluster's overlay, and the Kustomization is Ready only once every Tenant is", func(ctx SpecContext) {
		head, err := repo.git("rev-parse", "HEAD")
		Expect(err).NotTo(HaveOccurred())
		firstCommit := head[:40]
		start := time.Now()
		for _, e := range both() {
			e.applySync(ctx, syncSpec{namespace: localcluster.FluxNamespace, name: platformSync,
				url: git.URL("tenants"), path: "./clusters/" + e.name})
		}

		expectApplied(ctx, firstCommit)
		figure("first sync, Flux objects created to both Kustomizations Ready", time.Since(start).Round(100*time.Millisecond))

		for _, e := range both() {
			By(e.name + ": exactly its overlay's Tenants, each Ready no later than the Kustomization")
			s := platformKustomization(ctx, Default, e)
			Expect(e.tenantNames(ctx, Default)).To(Equal(overlayTenants[e.name]))
			for _, t := range e.expectReady(ctx, Default, overlayTenants[e.name]...) {
				ready := meta.FindStatusCondition(t.Status.Conditions, tenantryv1alpha1.ConditionReady)
				// Flux's timestamps have a resolution of one second.
				Expect(ready.LastTransitionTime.Truncate(time.Second)).NotTo(BeTemporally(">", s.ready.LastTransitionTime.Time),
					"%s: Tenant %s became Ready after the Kustomization did", e.name, t.Name)
			}
		}

		By("the per-cluster differences: payments-batch only in east, search's quota larger in west")
		Expect(east.admin.Get(ctx, client.ObjectKey{Name: "payments-batch"}, &corev1.Namespace{})).To(Succeed())
		err = west.admin.Get(ctx, client.ObjectKey{Name: "payments-batch"}, &corev1.Namespace{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "payments-batch in west: %v", err)
		for e, cpu := range map[*env]string{east: "1", west: "4"} {
			var q corev1.ResourceQuota
			Expect(e.admin.Get(ctx, client.ObjectKey{Namespace: "search", Name: "tenantry-compute"}, &q)).To(Succeed())
			Expect(q.Spec.Hard.Name(corev1.ResourceRequestsCPU, resource.DecimalSI).String()).To(Equal(cpu), e.name)
		}
	})

	It("waits for a new Tenant the operator has not seen yet: not Ready until the Tenant is", func(ctx SpecContext) {
		By("stopping east's operator, then adding Tenant ledger to east's overlay")
		Expect(east.operator.Stop()).To(Succeed())
		sha, _ := pushAndNudge(ctx, "east: ledger joins", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "clusters", "east", "ledger.yaml"), []byte(ledgerTenant), 0o644); err != nil {
				return err
			}
			return editFile(dir, "clusters/east/kustomization.yaml", "- ../../tenants\n", "- ../../tenants\n- ledger.yaml\n")
		})
		Eventually(func(g Gomega) {
			g.Expect(east.tenantNames(ctx, g)).To(ContainElement("ledger"))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			// As the API server serves it: the CRD's default status, which
			// kstatus reads as in progress (a typed read cannot tell).
			raw := newFluxObject(tenantryv1alpha1.GroupVersion.WithKind("Tenant"), "", "ledger", nil)
			g.Expect(east.admin.Get(ctx, client.ObjectKey{Name: "ledger"}, raw)).To(Succeed())
			g.Expect(raw.Object["status"]).To(Equal(map[string]any{"observedGeneration": int64(0)}), "the operator is stopped")
			s := platformKustomization(ctx, g, east)
			g.Expect(s.readyIs(metav1.ConditionTrue) && s.lastAppliedRevision == revisionRef(sha)).To(BeFalse(),
				"Ready at the new commit before Tenant ledger is: %s", s)
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		s := platformKustomization(ctx, Default, east)
		GinkgoWriter.Printf("east while its operator is stopped: Ready %s\n", s)

		By("starting east's operator again: the wait ends, after the Tenant is Ready")
		Expect(east.startOperator(ctx)).To(Succeed())
		overlayTenants["east"] = []string{"ledger", "payments", "search", "web"}
		expectApplied(ctx, sha)
		s = platformKustomization(ctx, Default, east)
		ledger := east.expectReady(ctx, Default, "ledger")[0]
		ready := meta.FindStatusCondition(ledger.Status.Conditions, tenantryv1alpha1.ConditionReady)
		Expect(ready.LastTransitionTime.Truncate(time.Second)).NotTo(BeTemporally(">", s.ready.LastTransitionTime.Time))
	})

	It("never fights: after convergence, Flux reconciles again and nobody writes", func(ctx SpecContext) {
		for _, e := range both() {
			before := e.versions(ctx, Default)
			writes := e.operatorWrites(ctx)
			for range 2 {
				requested := e.nudge(ctx, kustomizationGVK, localcluster.FluxNamespace, platformSync)
				Eventually(func(g Gomega) {
					s := platformKustomization(ctx, g, e)
					g.Expect(s.lastHandled).To(Equal(requested), "%s: nudge not handled yet", e.name)
					g.Expect(s.readyIs(metav1.ConditionTrue)).To(BeTrue(), "%s: %s", e.name, s)
				}).WithContext(ctx).Should(Succeed())
			}
			Consistently(func(g Gomega) {
				g.Expect(e.versions(ctx, g)).To(Equal(before), "%s: an object was written after convergence", e.name)
			}).WithContext(ctx).WithTimeout(5 * time.Second).WithPolling(time.Second).Should(Succeed())
			Expect(e.operatorWrites(ctx)).To(Equal(writes), "%s: the operator wrote after convergence", e.name)

			By(e.name + ": Flux owns each Tenant's spec by server-side apply, Tenantry only its status")
			t := e.tenant(ctx, Default, "payments")
			// Flux: spec and its labels; Tenantry: status and its finalizer.
			Expect(managers(t)).To(Equal([]string{"kustomize-controller Apply metadata,spec", "tenantry Apply status status", "tenantry Update metadata"}))
			Expect(t.Finalizers).To(Equal([]string{"tenantry.io/finalizer"}))
		}
	})

	It("brings a commit that changes a Tenant to both clusters, as `tenantry plan` previewed it", func(ctx SpecContext) {
		Expect(editFile(repo.dir, "tenants/payments.yaml", "  namespaces:\n", "  namespaceMetadata:\n    labels: {cost-center: \"4711\"}\n  namespaces:\n")).To(Succeed())
		By("the pull request's preview: each cluster's overlay, planned against that cluster")
		for _, e := range both() {
			code, out := e.plan(ctx, filepath.Join(repo.dir, "clusters", e.name))
			Expect(code).To(Equal(2), "%s: exit 2 means changes to review:\n%s", e.name, out)
			Expect(out).To(ContainSubstring("~ change Namespace/payments-prod: metadata.labels.cost-center (none) → 4711\n"), e.name)
			namespaces := map[*env]int{east: 3, west: 2}[e] // payments-batch is east's only
			Expect(out).To(ContainSubstring(fmt.Sprintf("Plan: 0 to create, %d to change, 0 to adopt, 0 to prune, 0 to release, 0 to DELETE.", namespaces)), e.name)
		}
		sha, pushed := pushAndNudge(ctx, "payments: cost center 4711", nil)
		for _, e := range both() {
			Eventually(func(g Gomega) {
				var ns corev1.Namespace
				g.Expect(e.admin.Get(ctx, client.ObjectKey{Name: "payments-prod"}, &ns)).To(Succeed())
				g.Expect(ns.Labels).To(HaveKeyWithValue("cost-center", "4711"), e.name)
				e.expectReady(ctx, g, overlayTenants[e.name]...)
			}).WithContext(ctx).WithPolling(100 * time.Millisecond).Should(Succeed())
		}
		figure("commit to every Tenant Ready in both clusters", time.Since(pushed).Round(100*time.Millisecond))
		expectApplied(ctx, sha)
		// Flux polls health every 5 s, so its Ready lags the Tenants'.
		figure("commit to both Kustomizations Ready", time.Since(pushed).Round(100*time.Millisecond))
	})

	It("holds back a commit that breaks a Tenant: the Kustomization is not Ready and says which Tenant", func(ctx SpecContext) {
		pushAndNudge(ctx, "payments: auditors get cluster-admin (not allowed)", func(dir string) error {
			return editFile(dir, "tenants/payments.yaml", "clusterRole: view", "clusterRole: cluster-admin")
		})
		for _, e := range both() {
			Eventually(func(g Gomega) {
				s := platformKustomization(ctx, g, e)
				g.Expect(s.readyIs(metav1.ConditionFalse)).To(BeTrue(), "%s: %s", e.name, s)
				// Flux names the Failed Tenant; it does not copy kstatus's
				// message (the Stalled one) into its own. On retries it
				// prefixes the duration of the health check.
				const failed = "failed early due to stalled resources: [Tenant/payments status: 'Failed']"
				g.Expect(s.ready.Reason).To(Equal("HealthCheckFailed"))
				g.Expect(s.ready.Message).To(MatchRegexp(`^(health check failed after [0-9.]+[mµn]?s: )?` + regexp.QuoteMeta(failed) + `$`))
				g.Expect(s.healthy).NotTo(BeNil())
				g.Expect(s.healthy.Message).To(Equal(failed))
			}).WithContext(ctx).Should(Succeed())
			t := e.tenant(ctx, Default, "payments")
			stalled := meta.FindStatusCondition(t.Status.Conditions, tenantryv1alpha1.ConditionStalled)
			Expect(stalled).NotTo(BeNil())
			Expect(stalled.Reason).To(Equal(tenantryv1alpha1.ReasonClusterRoleNotAllowed))
			Expect(stalled.Message).To(Equal("ClusterRole cluster-admin not allowed: this operator binds only admin, edit, view (--allowed-cluster-roles); no role binding was created or changed"))
		}

		By("reverting the commit: Ready again")
		sha, _ := pushAndNudge(ctx, "payments: auditors back to view", func(dir string) error {
			return editFile(dir, "tenants/payments.yaml", "clusterRole: cluster-admin", "clusterRole: view")
		})
		expectApplied(ctx, sha)
	})

	It("keeps a removed Retain Tenant's namespace and data: Flux prunes the Tenant, Tenantry releases the namespace", func(ctx SpecContext) {
		for _, e := range both() {
			Expect(e.admin.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: "search", Name: "index-settings"},
				Data:       map[string]string{"shards": "3"},
			})).To(Succeed())
		}
		sha, _ := pushAndNudge(ctx, "search: leaves the platform", func(dir string) error {
			if err := editFile(dir, "tenants/kustomization.yaml", "- search.yaml\n", ""); err != nil {
				return err
			}
			if err := os.Remove(filepath.Join(dir, "tenants", "search.yaml")); err != nil {
				return err
			}
			// west's overlay patched search: the patch goes with it.
			return editFile(dir, "clusters/west/kustomization.yaml",
				"patches:\n- target: {group: tenantry.io, kind: Tenant, name: search}\n  patch: |-\n    - op: replace\n      path: /spec/resourceQuotas/0/hard\n      value: {requests.cpu: \"4\", pods: \"40\"}\n", "")
		})
		expectApplied(ctx, sha)
		for _, e := range both() {
			Eventually(func(g Gomega) {
				err := e.admin.Get(ctx, client.ObjectKey{Name: "search"}, &tenantryv1alpha1.Tenant{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s: Tenant search: %v", e.name, err)
			}).WithContext(ctx).Should(Succeed())
			var ns corev1.Namespace
			Expect(e.admin.Get(ctx, client.ObjectKey{Name: "search"}, &ns)).To(Succeed())
			Expect(ns.DeletionTimestamp).To(BeNil())
			Expect(ns.Labels).NotTo(HaveKey(tenantLabel), "%s: namespace search still marked", e.name)
			var cm corev1.ConfigMap
			Expect(e.admin.Get(ctx, client.ObjectKey{Namespace: "search", Name: "index-settings"}, &cm)).To(Succeed())
			Expect(cm.Data).To(Equal(map[string]string{"shards": "3"}))
			var quotas corev1.ResourceQuotaList
			Expect(e.admin.List(ctx, &quotas, client.InNamespace("search"))).To(Succeed())
			Expect(quotas.Items).To(BeEmpty(), "%s: Tenantry's quota left behind", e.name)
		}
	})

	teamSpecs()
})

// figure reports a timing in the suite's output, passed or not (a report
// entry is printed for every spec; GinkgoWriter only with -ginkgo.v).
func figure(what string, d time.Duration) {
	AddReportEntry("FIGURE "+what, d.String())
}
