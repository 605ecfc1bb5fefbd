package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// Installs with Helm and with kustomize (make deploy/undeploy), each on a
// fresh local control plane: the operator runs as the installed
// ServiceAccount, a sample Tenant becomes Ready, upgrades apply, and removal
// leaves no stray object and never a tenant namespace less.
var _ = Describe("Installation", Ordered, func() {
	var (
		c   *localcluster.Cluster
		cl  client.Client
		dir string
	)
	BeforeAll(func(ctx SpecContext) {
		dir = GinkgoT().TempDir()
		var err error
		c, err = localcluster.Start(ctx, localcluster.Options{BinDir: binDir, KubeconfigPath: filepath.Join(dir, "kubeconfig")})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(c.Stop()).To(Succeed()) })
		cl, err = client.New(c.Config, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(3*time.Minute))

	helm := func(ctx context.Context, args ...string) string {
		cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=hack/helm/go.mod", "helm", "--kubeconfig", c.KubeconfigPath}, args...)...)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	runOperator := func(ctx context.Context, name string) *localcluster.Operator {
		op, err := c.StartOperator(ctx, localcluster.OperatorOptions{Binary: managerBinary(), Namespace: operatorNamespace,
			ServiceAccount: operatorSA, Dir: filepath.Join(dir, name)})
		Expect(err).NotTo(HaveOccurred())
		return op
	}
	sampleTenant := func(ctx context.Context) {
		_, err := c.Kubectl(ctx, "apply", "-f", filepath.Join(repoRoot, "config", "samples", "tenantry_v1alpha1_tenant_team_a.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			tn := &tenantryv1alpha1.Tenant{}
			g.Expect(cl.Get(ctx, client.ObjectKey{Name: "team-a"}, tn)).To(Succeed())
			g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
			g.Expect(tn.Status.Conditions).To(ContainElement(And(
				HaveField("Type", tenantryv1alpha1.ConditionReady), HaveField("Status", BeEquivalentTo("True")))))
		}).WithContext(ctx).Should(Succeed())
	}
	// leftovers lists objects of the install that still exist.
	leftovers := func(ctx context.Context, selector client.MatchingLabels) []string {
		var out []string
		for _, gvk := range []schema.GroupVersionKind{
			{Version: "v1", Kind: "ServiceAccount"}, {Version: "v1", Kind: "Service"},
			{Group: "apps", Version: "v1", Kind: "Deployment"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
			{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
			{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"},
			{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"},
		} {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			Expect(cl.List(ctx, list, selector)).To(Succeed())
			for _, item := range list.Items {
				out = append(out, gvk.Kind+"/"+item.GetName())
			}
		}
		return out
	}
	tenantNamespacesKept := func(ctx context.Context) {
		for _, ns := range []string{"team-a-dev", "team-a-prod"} {
			n := &corev1.Namespace{}
			Expect(cl.Get(ctx, client.ObjectKey{Name: ns}, n)).To(Succeed())
			Expect(n.DeletionTimestamp).To(BeNil(), "namespace %s is being deleted", ns)
		}
	}

	It("installs, upgrades and uninstalls with Helm", func(ctx SpecContext) {
		helm(ctx, "install", "tenantry", "charts/tenantry", "--namespace", operatorNamespace, "--create-namespace")
		op := runOperator(ctx, "helm-operator")
		sampleTenant(ctx)

		helm(ctx, "upgrade", "tenantry", "charts/tenantry", "--namespace", operatorNamespace,
			"--set", "allowedClusterRoles={admin,edit,view,tenant-developer}", "--set", "replicas=3")
		role := &rbacv1.ClusterRole{}
		Expect(cl.Get(ctx, client.ObjectKey{Name: "tenantry-manager-role"}, role)).To(Succeed())
		Expect(role.Rules).To(ContainElement(HaveField("ResourceNames", Equal([]string{"admin", "edit", "view", "tenant-developer"}))))

		Expect(op.Stop()).To(Succeed()) // the Deployment goes with the release
		helm(ctx, "uninstall", "tenantry", "--namespace", operatorNamespace)
		Expect(leftovers(ctx, client.MatchingLabels{"app.kubernetes.io/instance": "tenantry"})).To(BeEmpty())
		tenantNamespacesKept(ctx)
		// CRDs in crds/ are never deleted by Helm: the Tenants stay.
		Expect(cl.Get(ctx, client.ObjectKey{Name: "team-a"}, &tenantryv1alpha1.Tenant{})).To(Succeed())
	})

	It("deploys and undeploys with kustomize (make deploy / make undeploy)", func(ctx SpecContext) {
		makeTarget := func(target string) {
			cmd := exec.CommandContext(ctx, "make", target, "KUBECTL="+c.KubectlPath())
			cmd.Dir = repoRoot
			cmd.Env = append(cmd.Environ(), "KUBECONFIG="+c.KubeconfigPath)
			out, err := cmd.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		}
		makeTarget("deploy")
		op := runOperator(ctx, "kustomize-operator")
		sampleTenant(ctx) // the Tenant from the Helm install is adopted by this install's operator
		Expect(op.Stop()).To(Succeed())
		makeTarget("undeploy")
		Expect(leftovers(ctx, client.MatchingLabels{"app.kubernetes.io/name": "tenantry"})).To(BeEmpty())
		Eventually(func() bool {
			return apierrors.IsNotFound(cl.Get(ctx, client.ObjectKey{Name: operatorNamespace}, &corev1.Namespace{}))
		}).WithContext(ctx).Should(BeTrue())
		tenantNamespacesKept(ctx)
		Expect(cl.Get(ctx, client.ObjectKey{Name: "team-a"}, &tenantryv1alpha1.Tenant{})).To(Succeed())
	})
})
