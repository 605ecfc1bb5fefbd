// Package gitops runs Flux for real against Tenantry: two local control
// planes (east and west), each with config/default installed, the manager
// binary running as its ServiceAccount and Flux's source-controller and
// kustomize-controller (built from module source by `make flux-bins`)
// syncing examples/gitops from a local Git server.
package gitops

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// env is one cluster with Tenantry and Flux.
type env struct {
	name     string
	cluster  *localcluster.Cluster
	admin    client.Client
	operator *localcluster.Operator
	flux     *localcluster.Flux
	dir      string
}

var (
	repoRoot   string
	scheme     = runtime.NewScheme()
	workDir    string
	git        *gitServer
	repo       *gitRepo
	east, west *env
)

func TestGitOps(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Tenantry GitOps suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	EnforceDefaultTimeoutsWhenUsingContexts()
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	var err error
	repoRoot, err = filepath.Abs("../..")
	Expect(err).NotTo(HaveOccurred())
	workDir = GinkgoT().TempDir()

	By("serving examples/gitops from a local Git server")
	Expect(os.MkdirAll(filepath.Join(workDir, "git"), 0o755)).To(Succeed())
	git, err = startGitServer(filepath.Join(workDir, "git"))
	Expect(err).NotTo(HaveOccurred())
	repo, err = git.newRepo("tenants", filepath.Join(repoRoot, "examples", "gitops"), filepath.Join(workDir, "work"))
	Expect(err).NotTo(HaveOccurred())

	By("starting clusters east and west, each with Tenantry and Flux")
	east, west = &env{name: "east"}, &env{name: "west"}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, e := range []*env{east, west} {
		wg.Go(func() { errs[i] = e.start(ctx) })
	}
	wg.Wait()
	Expect(errs[0]).NotTo(HaveOccurred(), "cluster east")
	Expect(errs[1]).NotTo(HaveOccurred(), "cluster west")
}, NodeTimeout(6*time.Minute))

var _ = AfterSuite(func() {
	for _, e := range []*env{east, west} {
		if e != nil {
			e.stop()
		}
	}
	if git != nil {
		git.Close()
	}
})

// start brings up the control plane, installs config/default, and runs
// Flux and the operator.
func (e *env) start(ctx context.Context) error {
	e.dir = filepath.Join(workDir, e.name)
	binDir := os.Getenv("KUBEBUILDER_ASSETS")
	if binDir == "" {
		binDir = filepath.Join(repoRoot, "bin", "k8s", "1.37.2")
	}
	var err error
	if e.cluster, err = localcluster.Start(ctx, localcluster.Options{BinDir: binDir, KubeconfigPath: filepath.Join(e.dir, "kubeconfig")}); err != nil {
		return err
	}
	if e.admin, err = client.New(e.cluster.Config, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := e.cluster.InstallKustomization(ctx, filepath.Join(repoRoot, "config", "default")); err != nil {
		return err
	}
	if e.flux, err = e.cluster.StartFlux(ctx, localcluster.FluxOptions{BinDir: fluxBinDir(), Dir: filepath.Join(e.dir, "flux")}); err != nil {
		return err
	}
	return e.startOperator(ctx)
}

// startOperator runs the manager binary as its ServiceAccount with the
// flags config/manager gives it.
func (e *env) startOperator(ctx context.Context) error {
	var err error
	e.operator, err = e.cluster.StartOperator(ctx, localcluster.OperatorOptions{
		Binary:    localcluster.ManagerBinary(repoRoot),
		Namespace: localcluster.OperatorNamespace, ServiceAccount: localcluster.OperatorServiceAccount,
		Dir:  filepath.Join(e.dir, "operator"),
		Args: []string{"--allowed-cluster-roles=admin,edit,view", "--default-owner-cluster-role=admin"},
	})
	return err
}

func (e *env) stop() {
	_ = e.operator.Stop()
	_ = e.flux.Stop()
	if CurrentSpecReport().Failed() || os.Getenv("GITOPS_LOGS") != "" {
		for _, path := range e.logPaths() {
			logs, _ := os.ReadFile(path)
			GinkgoWriter.Printf("%s %s (tail):\n%s\n", e.name, filepath.Base(path), localcluster.Tail(logs, 6000))
		}
	}
	if e.cluster != nil {
		_ = e.cluster.Stop()
	}
}

func (e *env) logPaths() []string {
	var paths []string
	if e.operator != nil {
		paths = append(paths, e.operator.LogPath)
	}
	if e.flux != nil {
		for _, p := range e.flux.LogPaths {
			paths = append(paths, p)
		}
	}
	return paths
}

func fluxBinDir() string {
	if dir := os.Getenv("FLUX_BIN_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(repoRoot, "bin", "flux", "v1.9.6")
}
