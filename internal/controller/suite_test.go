package controller

// The reconciler tests run against a real kube-apiserver and etcd (envtest,
// with the binaries `make k8s-bins` builds from source) with config/default
// installed: the CRD with its validation, the operator's RBAC and the
// ValidatingAdmissionPolicy. The reconciler runs in this process as the
// operator's ServiceAccount (impersonated), with exactly the RBAC from
// config/rbac. There is no kube-controller-manager here: namespace deletion
// and garbage collection are tested end to end in test/e2e.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apihealth"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/localcluster"
)

const (
	operatorNamespace = localcluster.OperatorNamespace
	operatorSA        = localcluster.OperatorServiceAccount
)

var (
	testEnv   *envtest.Environment
	adminCfg  *rest.Config
	k8s       client.Client // cluster-admin (system:masters)
	scheme    = runtime.NewScheme()
	writes    = &requestCounter{}
	operator  *runningOperator
	repoRoot  string
	kubectlKC string
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
	var err error
	repoRoot, err = filepath.Abs("../..")
	must(err)
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(repoRoot, "bin", "k8s", "1.37.2")
	}
	testEnv = &envtest.Environment{BinaryAssetsDirectory: assets, ErrorIfCRDPathMissing: true}
	adminCfg, err = testEnv.Start()
	must(err)
	defer func() { _ = testEnv.Stop() }()

	k8s, err = client.New(adminCfg, client.Options{Scheme: scheme})
	must(err)

	// kubectl installs config/default exactly as `make deploy` does.
	admin, err := testEnv.AddUser(envtest.User{Name: "suite-admin", Groups: []string{"system:masters"}}, nil)
	must(err)
	kc, err := admin.KubeConfig()
	must(err)
	kubectlKC = filepath.Join(testEnv.ControlPlane.APIServer.CertDir, "admin.kubeconfig")
	must(os.WriteFile(kubectlKC, kc, 0o600))
	out, err := exec.Command(filepath.Join(assets, "kubectl"), "--kubeconfig="+kubectlKC,
		"apply", "--server-side", "-k", filepath.Join(repoRoot, "config", "default")).CombinedOutput()
	if err != nil {
		panic(fmt.Sprintf("install config/default: %v\n%s", err, out))
	}
	// kubectl wait fails, rather than waits, on a CRD whose status is not
	// written yet: try again a few times.
	for range 10 {
		out, err = exec.Command(filepath.Join(assets, "kubectl"), "--kubeconfig="+kubectlKC, "wait", "--for=condition=Established",
			"crd/tenants.tenantry.io", "crd/tenantclasses.tenantry.io", "crd/namespaceclaims.tenantry.io").CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		panic(fmt.Sprintf("wait for CRD: %v\n%s", err, out))
	}

	operator = startOperator(Config{})
	code := m.Run()
	operator.stop()
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel // keep test output readable
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// operatorConfig is the REST config of the operator: the admin's credentials
// impersonating the operator's ServiceAccount, with every request counted.
func operatorConfig() *rest.Config {
	cfg := rest.CopyConfig(adminCfg)
	user, groups := localcluster.ServiceAccountUser(operatorNamespace, operatorSA)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return writes.wrap(rt) })
	return cfg
}

// runningOperator is a manager with the Tenant reconciler.
type runningOperator struct {
	cancel     context.CancelFunc
	done       chan struct{}
	client     client.Client
	reconciler *TenantReconciler
}

func startOperator(cfg Config) *runningOperator { return startOperatorWith(cfg, nil) }

// startOperatorWith starts the operator with wrap (when not nil) around its
// transport, below the request counter and the API health tracker.
func startOperatorWith(cfg Config, wrap func(http.RoundTripper) http.RoundTripper) *runningOperator {
	if cfg.AllowedClusterRoles == nil {
		cfg.AllowedClusterRoles = []string{"admin", "edit", "view"}
	}
	if cfg.DefaultOwnerClusterRole == "" {
		cfg.DefaultOwnerClusterRole = "admin"
	}
	if cfg.MaxConcurrentReconciles == 0 {
		cfg.MaxConcurrentReconciles = 4
	}
	if cfg.OperatorNamespace == "" {
		cfg.OperatorNamespace = operatorNamespace // where the hostname grant table is
	}
	restCfg := operatorConfig()
	if wrap != nil {
		restCfg.Wrap(wrap)
	}
	health := apihealth.New()
	restCfg.Wrap(health.Wrap)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cache.Options(cfg.OperatorNamespace),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &TenantReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("tenantry"),
		Health:    health,
		Config:    cfg,
	}
	must(r.SetupWithManager(ctx, mgr))
	must((&TenantClassReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr))
	o := &runningOperator{cancel: cancel, done: make(chan struct{}), client: mgr.GetClient(), reconciler: r}
	go func() {
		defer close(o.done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		panic("cache did not sync")
	}
	return o
}

func (o *runningOperator) stop() {
	o.cancel()
	<-o.done
}

// requestCounter counts the operator's API writes by method and path, and
// its reads of single objects (past the cache) by path.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
	reads  map[string]int
	total  atomic.Int64
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		c.mu.Lock()
		switch {
		case req.Method == http.MethodGet:
			if isObjectPath(req.URL.Path) {
				if c.reads == nil {
					c.reads = map[string]int{}
				}
				c.reads[req.URL.Path]++
			}
		case !req.URL.Query().Has("dryRun"): // dry runs store nothing: not writes
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			c.counts[req.Method+" "+req.URL.Path]++
			c.total.Add(1)
		}
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// isObjectPath: the path names one object (/api/v1/namespaces/x,
// /apis/g/v/namespaces/ns/resource/name), not a collection: after the group
// version, an even number of segments.
func isObjectPath(path string) bool {
	var rest string
	if r, ok := strings.CutPrefix(path, "/api/v1/"); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(path, "/apis/"); ok {
		parts := strings.SplitN(r, "/", 3)
		if len(parts) < 3 {
			return false
		}
		rest = parts[2]
	} else {
		return false
	}
	return len(strings.Split(rest, "/"))%2 == 0
}

// readsSince returns the single-object reads made after before was taken.
func (c *requestCounter) readsSince(before map[string]int) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.reads {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// readSnapshot returns the single-object reads so far.
func (c *requestCounter) readSnapshot() map[string]int { return c.readsSince(nil) }

// snapshot returns the writes so far, events left out (they are not part of
// the write budget: they are rate-limited on their own).
func (c *requestCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		if !strings.Contains(k, "/events") {
			out[k] = v
		}
	}
	return out
}

// since returns the writes made after before was taken.
func (c *requestCounter) since(before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range c.snapshot() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// waitSettled waits until the Tenant controller has nothing queued or in
// flight and no reconcile happened for quiet.
func waitSettled(t *testing.T, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last, stableSince := -1.0, time.Now()
	for time.Now().Before(deadline) {
		total, busy := controllerActivity(t)
		if total != last || busy {
			last, stableSince = total, time.Now()
		} else if time.Since(stableSince) >= quiet {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the Tenant controller did not settle")
}

// controllerActivity reads the reconcile count and whether work is queued or
// running, from the controller-runtime metrics of this process.
func controllerActivity(t *testing.T) (float64, bool) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	busy := false
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if !hasLabel(m, "controller", "tenant") && !hasLabel(m, "name", "tenant") {
				continue
			}
			switch f.GetName() {
			case "controller_runtime_reconcile_total":
				total += m.GetCounter().GetValue()
			case "workqueue_depth", "controller_runtime_active_workers":
				if m.GetGauge().GetValue() > 0 {
					busy = true
				}
			}
		}
	}
	return total, busy
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

var metricsGather = metrics.Registry.Gather
