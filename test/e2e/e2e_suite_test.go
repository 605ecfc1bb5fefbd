// Package e2e runs Tenantry end to end against the local control plane
// (etcd, kube-apiserver, kube-controller-manager built from source) with
// config/default installed and the manager binary running as its own
// ServiceAccount — exactly the RBAC and policies it has in a cluster.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

const (
	operatorNamespace = localcluster.OperatorNamespace
	operatorSA        = localcluster.OperatorServiceAccount
)

var (
	repoRoot string
	binDir   string
	cluster  *localcluster.Cluster
	operator *localcluster.Operator
	admin    client.Client
	scheme   = runtime.NewScheme()
	workDir  string
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Tenantry e2e suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
	SetDefaultEventuallyTimeout(60 * time.Second)
	// A context alone would let Eventually poll until the suite times out.
	EnforceDefaultTimeoutsWhenUsingContexts()
	// controller-runtime's clients log through it; unset, it prints a stack trace.
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	var err error
	repoRoot, err = filepath.Abs("../..")
	Expect(err).NotTo(HaveOccurred())
	binDir = os.Getenv("KUBEBUILDER_ASSETS")
	if binDir == "" {
		binDir = filepath.Join(repoRoot, "bin", "k8s", "1.37.2")
	}
	workDir = GinkgoT().TempDir()

	By("starting the local control plane")
	cluster, err = localcluster.Start(ctx, localcluster.Options{BinDir: binDir, KubeconfigPath: filepath.Join(workDir, "kubeconfig")})
	Expect(err).NotTo(HaveOccurred())
	admin, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("installing config/default")
	Expect(cluster.InstallKustomization(ctx, filepath.Join(repoRoot, "config", "default"))).To(Succeed())

	By("running the manager binary as its ServiceAccount")
	operator, err = cluster.StartOperator(ctx, localcluster.OperatorOptions{
		Binary:    managerBinary(),
		Namespace: operatorNamespace, ServiceAccount: operatorSA,
		Dir: filepath.Join(workDir, "operator"),
	})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if operator != nil {
		_ = operator.Stop()
		if CurrentSpecReport().Failed() || os.Getenv("E2E_OPERATOR_LOG") != "" {
			logs, _ := os.ReadFile(operator.LogPath)
			GinkgoWriter.Printf("operator log:\n%s\n", logs)
		}
	}
	if cluster != nil {
		Expect(cluster.Stop()).To(Succeed())
	}
})

func managerBinary() string {
	if bin := os.Getenv("MANAGER_BIN"); bin != "" {
		return bin
	}
	return filepath.Join(repoRoot, "bin", "manager")
}

// clientAs returns a client that impersonates user with groups.
func clientAs(user string, groups ...string) client.Client {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// waitReady waits for a Tenant to be Ready at its current generation.
func waitReady(ctx context.Context, name string) *tenantryv1alpha1.Tenant {
	tn := &tenantryv1alpha1.Tenant{}
	Eventually(func(g Gomega) {
		g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
		g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
		ready := false
		for _, c := range tn.Status.Conditions {
			if c.Type == tenantryv1alpha1.ConditionReady && c.Status == "True" {
				ready = true
			}
		}
		g.Expect(ready).To(BeTrue(), "Tenant %s not Ready: %+v", name, tn.Status.Conditions)
	}).WithContext(ctx).Should(Succeed())
	return tn
}
