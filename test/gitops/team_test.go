package gitops

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// The team's own sync: GitRepository and Kustomization web-dev/web,
// applying teams/web/claims as the ServiceAccount web-dev/gitops, which
// Tenant web lists as an owner.
const (
	teamNamespace = "web-dev"
	teamSync      = "web"
	teamSA        = "gitops"
)

// teamTenant is Tenant web as the team would like it, committed into its
// own repository: more namespaces than the platform gave it.
const teamTenant = `apiVersion: tenantry.io/v1alpha1
kind: Tenant
metadata:
  name: web
spec:
  class: standard
  owners:
  - {kind: ServiceAccount, name: gitops, namespace: web-dev}
  namespaces:
  - name: web-dev
  selfService:
    maxNamespaces: 30
`

// teamSpecs run in cluster east, in the Ordered container of sync_test.go.
func teamSpecs() {
	It("lets a tenant team's own Kustomization claim a namespace as the team, and refuses it the Tenant", func(ctx SpecContext) {
		e := east
		By("the platform gives team web a ServiceAccount and a Flux sync that impersonates it")
		Expect(e.admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: teamNamespace, Name: teamSA}})).To(Succeed())
		e.applySync(ctx, syncSpec{namespace: teamNamespace, name: teamSync, url: git.URL("tenants"),
			path: "./teams/web/claims", serviceAccount: teamSA})
		head, err := repo.git("rev-parse", "HEAD")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			s := e.kustomization(ctx, g, teamNamespace, teamSync)
			g.Expect(s.readyIs(metav1.ConditionTrue)).To(BeTrue(), "%s", s)
			g.Expect(s.lastAppliedRevision).To(Equal(revisionRef(head[:40])))
		}).WithContext(ctx).Should(Succeed())

		By("its claim is Ready (Flux waited for it) and the namespace belongs to Tenant web")
		var claim tenantryv1alpha1.NamespaceClaim
		Expect(e.admin.Get(ctx, client.ObjectKey{Namespace: teamNamespace, Name: "web-preview"}, &claim)).To(Succeed())
		Expect(meta.IsStatusConditionTrue(claim.Status.Conditions, tenantryv1alpha1.ConditionReady)).To(BeTrue(), "%+v", claim.Status.Conditions)
		var ns corev1.Namespace
		Expect(e.admin.Get(ctx, client.ObjectKey{Name: "web-preview"}, &ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(tenantLabel, "web"))
		Expect(ns.Labels).To(HaveKeyWithValue("env", "preview"))

		By("the team commits a change to its own Tenant: refused, and Flux says so")
		before := e.tenant(ctx, Default, "web")
		_, err = repo.commit("web: thirty namespaces, please", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "teams", "web", "claims", "tenant.yaml"), []byte(teamTenant), 0o644); err != nil {
				return err
			}
			return editFile(dir, "teams/web/claims/kustomization.yaml", "- web-preview.yaml\n", "- web-preview.yaml\n- tenant.yaml\n")
		})
		Expect(err).NotTo(HaveOccurred())
		e.nudge(ctx, gitRepositoryGVK, teamNamespace, teamSync)
		Eventually(func(g Gomega) {
			s := e.kustomization(ctx, g, teamNamespace, teamSync)
			g.Expect(s.readyIs(metav1.ConditionFalse)).To(BeTrue(), "%s", s)
			g.Expect(s.ready.Reason).To(Equal("ReconciliationFailed"))
			g.Expect(s.ready.Message).To(Equal(`Tenant/web dry-run failed (Forbidden): tenants.tenantry.io "web" is forbidden: ` +
				`User "system:serviceaccount:web-dev:gitops" cannot patch resource "tenants" in API group "tenantry.io" at the cluster scope` + "\n"))
		}).WithContext(ctx).Should(Succeed())
		after := e.tenant(ctx, Default, "web")
		Expect(after.Generation).To(Equal(before.Generation))
		Expect(after.Spec.SelfService.MaxNamespaces).To(Equal(int32(3)))
	})
}
