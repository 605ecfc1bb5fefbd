package controller

// Helpers of the `tenantry plan` tests (plan_cli_test.go): the command runs
// in this process against the suite's API server, as the ServiceAccount
// config/rbac/plan_role.yaml grants, with every request it sends counted.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cli"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/localcluster"
)

const (
	planNamespace = "tenantry-system" // as in config/rbac/plan_role.yaml
	planSA        = "tenantry-plan"
	planContext   = "envtest"
)

var (
	planSetup      sync.Once
	planKubeconfig string
)

// setupPlanCLI installs config/rbac/plan_role.yaml and writes the command's
// kubeconfig: its current context points nowhere, so only --context reaches
// the suite's API server.
func setupPlanCLI(t *testing.T) {
	t.Helper()
	planSetup.Do(func() {
		out, err := exec.Command(filepath.Join(testEnv.BinaryAssetsDirectory, "kubectl"), "--kubeconfig="+kubectlKC,
			"apply", "--server-side", "-f", filepath.Join(repoRoot, "config", "rbac", "plan_role.yaml")).CombinedOutput()
		if err != nil {
			panic("install config/rbac/plan_role.yaml: " + err.Error() + "\n" + string(out))
		}
		kc, err := clientcmd.LoadFromFile(kubectlKC)
		must(err)
		real := kc.Contexts[kc.CurrentContext]
		kc.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
		kc.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: real.AuthInfo}
		kc.Contexts[planContext] = real
		kc.CurrentContext = "nowhere"
		planKubeconfig = filepath.Join(testEnv.ControlPlane.APIServer.CertDir, "plan.kubeconfig")
		must(clientcmd.WriteToFile(*kc, planKubeconfig))
	})
}

// cliRequests counts what the command sends: dry runs, and any other write.
type cliRequests struct {
	mu      sync.Mutex
	writes  []string
	dryRuns int
}

func (c *cliRequests) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			c.mu.Lock()
			if req.URL.Query().Get("dryRun") == "All" {
				c.dryRuns++
			} else {
				c.writes = append(c.writes, req.Method+" "+req.URL.Path)
			}
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// cliRun is one run of `tenantry plan`.
type cliRun struct {
	code        int
	out, stderr string
	dryRuns     int
}

// runPlan runs `tenantry plan -f -` with stdin and args, as the plan's
// ServiceAccount (or the suite's admin), and fails the test if it sent a
// single write that is not a dry run.
func runPlan(t *testing.T, asAdmin bool, stdin string, args ...string) cliRun {
	t.Helper()
	setupPlanCLI(t)
	reqs := &cliRequests{}
	var out, stderr bytes.Buffer
	r := cli.Runner{In: strings.NewReader(stdin), Out: &out, Err: &stderr, Configure: func(cfg *rest.Config) {
		if !asAdmin {
			user, groups := localcluster.ServiceAccountUser(planNamespace, planSA)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		}
		cfg.Wrap(reqs.wrap)
	}}
	args = append([]string{"plan", "--kubeconfig", planKubeconfig, "--context", planContext, "-f", "-"}, args...)
	code := r.Run(context.Background(), args)
	if len(reqs.writes) > 0 {
		t.Fatalf("tenantry plan sent writes that are not dry runs: %v", reqs.writes)
	}
	t.Logf("tenantry %s (exit %d, %d dry runs):\n%s%s", strings.Join(args, " "), code, reqs.dryRuns, out.String(), stderr.String())
	return cliRun{code: code, out: out.String(), stderr: stderr.String(), dryRuns: reqs.dryRuns}
}

// planJSON runs the plan with -o json and decodes it.
func planJSON(t *testing.T, stdin string) (cliRun, cli.Report) {
	t.Helper()
	run := runPlan(t, false, stdin, "-o", "json")
	var rep cli.Report
	if err := json.Unmarshal([]byte(run.out), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, run.out)
	}
	return run, rep
}

// manifest is Tenants (and TenantClasses) as a multi-document YAML file,
// as in Git: spec and name only.
func manifest(t *testing.T, objs ...client.Object) string {
	t.Helper()
	var b strings.Builder
	for _, obj := range objs {
		var out any
		meta := metav1.ObjectMeta{Name: obj.GetName()}
		switch o := obj.(type) {
		case *tenantryv1alpha1.Tenant:
			out = &tenantryv1alpha1.Tenant{TypeMeta: metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "Tenant"},
				ObjectMeta: meta, Spec: o.Spec}
		case *tenantryv1alpha1.TenantClass:
			out = &tenantryv1alpha1.TenantClass{TypeMeta: metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "TenantClass"},
				ObjectMeta: meta, Spec: o.Spec}
		}
		data, err := yaml.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n" + string(data))
	}
	return b.String()
}

// plannedWrites are the API requests the plans' actions are, each as often
// as it is planned, sorted: a server-side apply (PATCH) of the object, or its
// DELETE, and both for a replacement.
func plannedWrites(t *testing.T, rep cli.Report) []string {
	t.Helper()
	var out []string
	for _, tr := range rep.Tenants {
		for _, a := range tr.Actions {
			method := http.MethodPatch
			if a.Op == cli.OpPrune || a.Op == cli.OpDelete {
				method = http.MethodDelete
			}
			path := objectURL(t, a.Kind, a.Namespace, a.Name)
			out = append(out, method+" "+path)
			if a.Replace {
				out = append(out, http.MethodDelete+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// objectURL is the API path of a managed object.
func objectURL(t *testing.T, kind, namespace, name string) string {
	t.Helper()
	k := kinds.ByName(kind)
	gvk, err := apiutil.GVKForObject(k.New(), scheme)
	if err != nil {
		t.Fatal(err)
	}
	path := "/apis/" + gvk.Group + "/" + gvk.Version
	if gvk.Group == "" {
		path = "/api/" + gvk.Version
	}
	if k.Namespaced {
		path += "/namespaces/" + namespace
	}
	return path + "/" + k.Resource + "/" + name
}

// operatorWrites are the writes the operator made since before to objects
// whose path mentions one of names, each as often as it was sent, sorted;
// Tenants (finalizer, status) left out. Compared with plannedWrites, a write
// sent twice or one the plan did not list fails the test.
func operatorWrites(before map[string]int, names ...string) []string {
	var out []string
	for k, n := range writes.since(before) {
		if strings.Contains(k, "/apis/tenantry.io/") {
			continue
		}
		if slices.ContainsFunc(names, func(name string) bool { return strings.Contains(k, name) }) {
			for range n {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// removeNamespace deletes a namespace for good, as the admin: envtest runs
// no namespace controller, so its finalizer is removed too (what it held
// stays in storage, unreachable). A namespace left labelled for a Tenant
// that is gone would set the operator reconciling under later tests.
func removeNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", name, err)
		return
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("get namespace %s: %v", name, err)
		return
	}
	ns.Spec.Finalizers = nil
	if _, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("finalize namespace %s: %v", name, err)
	}
}

// waitObserved waits until the operator observed the Tenant's generation
// and then settled.
func waitObserved(t *testing.T, name string) *tenantryv1alpha1.Tenant {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for {
		tn := &tenantryv1alpha1.Tenant{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, tn); err == nil && tn.Status.ObservedGeneration == tn.Generation {
			waitSettled(t, time.Second)
			return tn
		}
		if time.Now().After(deadline) {
			t.Fatalf("Tenant %s: generation not observed", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
