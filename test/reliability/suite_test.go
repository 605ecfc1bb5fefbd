// Package reliability runs Tenantry through faults on the local control
// plane (etcd, kube-apiserver, kube-controller-manager built from source,
// config/default installed, the manager binary as its ServiceAccount):
// leader failover by kill -9 and by SIGTERM, an API server outage, and a
// randomized sequence of spec edits checked against the no-data-loss
// invariant. Each test reports its figures with t.Logf (go test -v).
package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	leaseName         = "tenantry.tenantry.io"
)

var (
	repoRoot string
	cluster  *localcluster.Cluster
	admin    client.Client
	scheme   = runtime.NewScheme()
	workDir  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// Without a logger controller-runtime prints a stack trace on the first
	// log call after 30 s, burying a failure's output; errors are enough
	// here, the operator's own log is in its log file.
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
	var err error
	if repoRoot, err = filepath.Abs("../.."); err != nil {
		panic(err)
	}
	binDir := os.Getenv("KUBEBUILDER_ASSETS")
	if binDir == "" {
		binDir = filepath.Join(repoRoot, "bin", "k8s", "1.37.2")
	}
	if workDir, err = os.MkdirTemp("", "tenantry-reliability-"); err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	ctx := context.Background()
	cluster, err = localcluster.Start(ctx, localcluster.Options{BinDir: binDir, KubeconfigPath: filepath.Join(workDir, "kubeconfig")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	adminCfg := rest.CopyConfig(cluster.Config)
	adminCfg.QPS, adminCfg.Burst = 500, 1000 // create load faster than the operator works through it
	if admin, err = client.New(adminCfg, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	if err := cluster.InstallKustomization(ctx, filepath.Join(repoRoot, "config", "default")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func managerBinary() string {
	if bin := os.Getenv("MANAGER_BIN"); bin != "" {
		return bin
	}
	return filepath.Join(repoRoot, "bin", "manager")
}

// startOperator runs the manager binary as its ServiceAccount with the
// install's flags (leader election on) plus args; it is stopped at cleanup
// and its log printed if the test failed.
func startOperator(t *testing.T, name string, args ...string) *localcluster.Operator {
	t.Helper()
	op, err := cluster.StartOperator(context.Background(), localcluster.OperatorOptions{
		Binary:    managerBinary(),
		Namespace: operatorNamespace, ServiceAccount: operatorSA,
		Dir:  filepath.Join(workDir, t.Name(), name),
		Args: append([]string{"--leader-elect"}, args...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = op.Stop()
		if t.Failed() {
			logs, _ := os.ReadFile(op.LogPath)
			t.Logf("%s log (tail):\n%s", name, tail(string(logs), 6000))
		}
	})
	return op
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// isLeader says whether the operator holds the lease, from its metrics.
func isLeader(op *localcluster.Operator) bool {
	text, err := op.Metrics(context.Background())
	return err == nil && strings.Contains(text, `leader_election_master_status{name="`+leaseName+`"} 1`)
}

// waitLeader waits until one of ops leads and returns it.
func waitLeader(t *testing.T, ops ...*localcluster.Operator) *localcluster.Operator {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, op := range ops {
			if isLeader(op) {
				return op
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no operator became leader")
	return nil
}

// leaseHolder is the Lease's current holder, "" when none.
func leaseHolder(ctx context.Context) string {
	var lease coordinationv1.Lease
	if err := admin.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaseName}, &lease); err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// waitHolderChange polls the Lease until its holder is neither "" nor from,
// and returns when that was seen.
func waitHolderChange(t *testing.T, from string, timeout time.Duration) time.Time {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if h := leaseHolder(ctx); h != "" && h != from {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the lease stayed with %q for %s", from, timeout)
	return time.Time{}
}

// loadTenant is a light Tenant: one namespace with a quota, the owner and
// isolation objects and cluster RBAC — 6 objects.
func loadTenant(name string) *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-admins", APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: name}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
				Hard: corev1.ResourceList{"pods": resource.MustParse("10")}}},
		},
	}
}

// objectsPerLoadTenant: namespace, quota, owner RoleBinding, isolation
// NetworkPolicy, ClusterRole, ClusterRoleBinding.
const objectsPerLoadTenant = 6

// createTenants creates n load Tenants named prefix-0..n-1, 8 at a time.
func createTenants(t *testing.T, prefix string, n int) []string {
	t.Helper()
	names := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := admin.Create(context.Background(), loadTenant(name)); err != nil {
				errs <- err
			}
		}(names[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return names
}

// readyCount counts the Tenants with prefix that are Ready at their generation.
func readyCount(ctx context.Context, prefix string) (ready, total int) {
	var list tenantryv1alpha1.TenantList
	if err := admin.List(ctx, &list); err != nil {
		return 0, 0
	}
	for _, tn := range list.Items {
		if !strings.HasPrefix(tn.Name, prefix+"-") {
			continue
		}
		total++
		c := meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionReady)
		if c != nil && c.Status == metav1.ConditionTrue && tn.Status.ObservedGeneration == tn.Generation {
			ready++
		}
	}
	return ready, total
}

// waitReadyAtLeast waits until at least n Tenants with prefix are Ready.
func waitReadyAtLeast(t *testing.T, prefix string, n int, timeout time.Duration) time.Time {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ready, _ := readyCount(ctx, prefix); ready >= n {
			return time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	ready, total := readyCount(ctx, prefix)
	t.Fatalf("%d of %d %s Tenants Ready after %s, want %d", ready, total, prefix, timeout, n)
	return time.Time{}
}

// checkComplete asserts that every named load Tenant has exactly its
// objects: one Active namespace (with the UID it had in before, if listed
// there), one of each child, the cluster RBAC — nothing missing, nothing
// twice — and says so in its status.
func checkComplete(t *testing.T, names []string, before map[string]string) {
	t.Helper()
	ctx := context.Background()
	for _, name := range names {
		sel := client.MatchingLabels{tenantryv1alpha1.TenantLabel: name}
		var nss corev1.NamespaceList
		var quotas corev1.ResourceQuotaList
		var rbs rbacv1.RoleBindingList
		var crs rbacv1.ClusterRoleList
		var crbs rbacv1.ClusterRoleBindingList
		for _, l := range []client.ObjectList{&nss, &quotas, &rbs, &crs, &crbs} {
			if err := admin.List(ctx, l, sel); err != nil {
				t.Fatal(err)
			}
		}
		counts := []int{len(nss.Items), len(quotas.Items), len(rbs.Items), len(crs.Items), len(crbs.Items)}
		if fmt.Sprint(counts) != "[1 1 1 1 1]" {
			t.Errorf("%s: namespaces, quotas, role bindings, cluster roles, cluster role bindings = %v, want one each", name, counts)
			continue
		}
		if uid, ok := before[name]; ok && string(nss.Items[0].UID) != uid {
			t.Errorf("%s: namespace was deleted and recreated (UID %s, was %s)", name, nss.Items[0].UID, uid)
		}
		var tn tenantryv1alpha1.Tenant
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, &tn); err != nil {
			t.Fatal(err)
		}
		if tn.Status.ManagedObjects != objectsPerLoadTenant || tn.Status.NamespaceCount != 1 {
			t.Errorf("%s: status says %d objects, %d namespaces", name, tn.Status.ManagedObjects, tn.Status.NamespaceCount)
		}
	}
}

// namespaceUIDs maps each existing namespace with prefix to its UID.
func namespaceUIDs(t *testing.T, prefix string) map[string]string {
	t.Helper()
	var nss corev1.NamespaceList
	if err := admin.List(context.Background(), &nss); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, prefix+"-") {
			out[ns.Name] = string(ns.UID)
		}
	}
	return out
}

// requestsTotal sums the operator's rest_client_requests_total.
func requestsTotal(t *testing.T, op *localcluster.Operator) float64 {
	t.Helper()
	text, err := op.Metrics(context.Background())
	if err != nil {
		t.Fatalf("operator metrics: %v", err)
	}
	var sum float64
	for _, m := range requestsLine.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum
}

var requestsLine = regexp.MustCompile(`(?m)^rest_client_requests_total\{[^}]*\} (\S+)$`)

// assertNoDrift: no Tenant recorded drift (nobody touched their objects).
func assertNoDrift(t *testing.T, names []string) {
	t.Helper()
	for _, name := range names {
		var tn tenantryv1alpha1.Tenant
		if err := admin.Get(context.Background(), client.ObjectKey{Name: name}, &tn); err != nil {
			t.Fatal(err)
		}
		if tn.Status.DriftCorrections != 0 || len(tn.Status.Drift) != 0 {
			t.Errorf("%s: drift recorded where nobody changed anything: %d corrections, %+v", name, tn.Status.DriftCorrections, tn.Status.Drift)
		}
	}
}
