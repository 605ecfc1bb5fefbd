// Command manager runs the Tenantry operator: flags, manager, caches,
// health and metrics. The reconciler lives in internal/controller.
package main

import (
	"flag"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apihealth"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/controller"
	"github.com/tenantry/tenantry/internal/memlimit"
	tmetrics "github.com/tenantry/tenantry/internal/metrics"
)

func main() {
	var (
		leaderElect             bool
		leaderElectionNamespace string
		metricsAddr             string
		probeAddr               string
		qps                     float64
		burst                   int
		concurrency             int
		allowedRoles            string
		defaultOwnerRole        string
		resyncPeriod            time.Duration
		pprofEnabled            bool
		leaseDuration           time.Duration
		renewDeadline           time.Duration
		retryPeriod             time.Duration
		shutdownTimeout         time.Duration
		operatorNamespace       string
		protectedNamespaces     string
		protectedSelector       string
	)
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Enable leader election so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; required when running outside a pod.")
	// Lease timings trade failover speed for tolerance of API server outages:
	// the leader keeps trying to renew for renew-deadline before it steps
	// down (and exits), so 30 s rides out an API server restart; a standby
	// takes over at most lease-duration after a leader dies without
	// releasing, and within retry-period of a clean release.
	flag.DurationVar(&leaseDuration, "leader-election-lease-duration", 35*time.Second,
		"How long a standby waits after the leader's last renewal before taking over.")
	flag.DurationVar(&renewDeadline, "leader-election-renew-deadline", 30*time.Second,
		"How long the leader retries renewing its lease before it steps down.")
	flag.DurationVar(&retryPeriod, "leader-election-retry-period", time.Second,
		"How often leader election clients retry acquiring or renewing the lease.")
	flag.DurationVar(&shutdownTimeout, "graceful-shutdown-timeout", 8*time.Second,
		"How long in-flight reconciles may take to finish on SIGTERM; keep it below the pod's terminationGracePeriodSeconds.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080",
		"Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081",
		"Address the /healthz and /readyz endpoints bind to.")
	flag.Float64Var(&qps, "kube-api-qps", 500, "Client-side limit of queries per second to the API server, per resource type (controller-runtime keeps one limiter per type); negative disables it. The API server's Priority and Fairness is what protects it.")
	flag.IntVar(&burst, "kube-api-burst", 1000, "Burst of queries to the API server, per resource type.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4, "Tenants reconciled in parallel.")
	flag.StringVar(&allowedRoles, "allowed-cluster-roles", "admin,edit,view",
		"Comma-separated ClusterRoles Tenants may bind. The operator's RBAC must grant 'bind' on each.")
	flag.StringVar(&defaultOwnerRole, "default-owner-cluster-role", "admin",
		"ClusterRole bound to a Tenant's owners when spec.ownerClusterRole is empty.")
	flag.DurationVar(&resyncPeriod, "resync-period", 10*time.Minute,
		"How often (jittered by 10%) every Tenant is re-checked for drift watches could have missed; 0 disables.")
	flag.StringVar(&operatorNamespace, "operator-namespace", os.Getenv("POD_NAMESPACE"),
		"The operator's own namespace, never a tenant namespace (default: $POD_NAMESPACE, else the leader election namespace).")
	flag.StringVar(&protectedNamespaces, "protected-namespaces", "",
		"Comma-separated namespaces that can never be tenant namespaces, besides default, kube-system, kube-public, kube-node-lease and the operator's own.")
	flag.StringVar(&protectedSelector, "protected-namespace-selector", "",
		"Label selector of namespaces that can never be tenant namespaces (e.g. 'platform.example.com/system=true').")
	flag.BoolVar(&pprofEnabled, "pprof", false,
		"Serve Go profiles at /debug/pprof/ on the metrics address.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	if soft, err := memlimit.FromEnv(); err != nil {
		log.Error(err, "Memory limit not set")
		os.Exit(1)
	} else if soft > 0 {
		log.Info("Go memory limit set from the container's", "bytes", soft, "share", memlimit.Share)
	}

	if operatorNamespace == "" {
		operatorNamespace = leaderElectionNamespace
	}
	if data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); operatorNamespace == "" && err == nil {
		operatorNamespace = strings.TrimSpace(string(data))
	}
	protectedSel, err := labels.Parse(protectedSelector)
	if err != nil {
		log.Error(err, "Invalid --protected-namespace-selector")
		os.Exit(1)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(qps), burst
	cfg.UserAgent = "tenantry"
	health := apihealth.New()
	cfg.Wrap(health.Wrap)
	cfg.Wrap(tmetrics.CountRequests)

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cache.Options(operatorNamespace),
		Metrics:                 metricsOptions(metricsAddr, pprofEnabled),
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "tenantry.tenantry.io",
		LeaderElectionNamespace: leaderElectionNamespace,
		// Step down promptly on SIGTERM so the next replica takes over at once.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		GracefulShutdownTimeout:       &shutdownTimeout,
	})
	if err != nil {
		log.Error(err, "Unable to create manager")
		os.Exit(1)
	}

	ctx := ctrl.SetupSignalHandler()
	r := &controller.TenantReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("tenantry"),
		Health:    health,
		Config: controller.Config{
			AllowedClusterRoles:        splitList(allowedRoles),
			DefaultOwnerClusterRole:    defaultOwnerRole,
			ResyncPeriod:               resyncPeriod,
			MaxConcurrentReconciles:    concurrency,
			OperatorNamespace:          operatorNamespace,
			ProtectedNamespaces:        splitList(protectedNamespaces),
			ProtectedNamespaceSelector: protectedSel,
		},
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		log.Error(err, "Unable to set up Tenant controller")
		os.Exit(1)
	}
	if err := (&controller.TenantClassReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		log.Error(err, "Unable to set up TenantClass controller")
		os.Exit(1)
	}
	metrics.Registry.MustRegister(&tmetrics.QuotaCollector{Reader: mgr.GetCache()})
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))

	log.Info("Starting manager", "allowedClusterRoles", r.Config.AllowedClusterRoles, "qps", qps, "burst", burst)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Manager exited with an error")
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func metricsOptions(addr string, pprofEnabled bool) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: addr}
	if pprofEnabled {
		opts.ExtraHandlers = map[string]http.Handler{
			"/debug/pprof/":        http.HandlerFunc(pprof.Index),
			"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
			"/debug/pprof/heap":    pprof.Handler("heap"),
			"/debug/pprof/allocs":  pprof.Handler("allocs"),
		}
	}
	return opts
}
