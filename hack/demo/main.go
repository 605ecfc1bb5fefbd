// Command demo is `make demo`: it starts the local control plane, installs
// config/default, runs the operator as its own ServiceAccount, applies the
// sample Tenants, waits for them to be Ready, shows what Tenantry made, walks
// through a drift correction, and keeps everything running until Ctrl-C.
// With DEMO_EXIT=1 it stops everything and exits 0 once the samples are Ready.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tenantry/tenantry/internal/localcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := envOr("DEMO_DIR", ".local")
	binDir := envOr("K8S_BIN_DIR", "bin/k8s/1.37.2")
	manager := envOr("MANAGER_BIN", "bin/manager")
	exitWhenReady := os.Getenv("DEMO_EXIT") == "1"

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("Starting the local control plane (etcd, kube-apiserver, kube-controller-manager)")
	kubeconfig, err := filepath.Abs(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return err
	}
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: binDir, KubeconfigPath: kubeconfig})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping the operator and the local control plane")
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
		}
	}()

	step("Installing config/default (CRD, RBAC, ValidatingAdmissionPolicy)")
	if err := c.InstallKustomization(ctx, "config/default"); err != nil {
		return err
	}

	step("Running the operator as ServiceAccount " + localcluster.OperatorNamespace + "/" + localcluster.OperatorServiceAccount)
	op, err := c.StartOperator(ctx, localcluster.OperatorOptions{
		Binary: manager, Namespace: localcluster.OperatorNamespace, ServiceAccount: localcluster.OperatorServiceAccount,
		Dir: filepath.Join(dir, "operator"),
	})
	if err != nil {
		return err
	}
	defer func() { _ = op.Stop() }()

	step("Applying config/samples and waiting for the Tenants to be Ready")
	if _, err := c.Kubectl(ctx, "apply", "-k", "config/samples"); err != nil {
		return err
	}
	if out, err := c.Kubectl(ctx, "wait", "--for=condition=Ready", "tenants", "--all", "--timeout=120s"); err != nil {
		status, _ := c.Kubectl(ctx, "get", "tenants", "-o", "yaml")
		return fmt.Errorf("sample Tenants not Ready: %s\n%s\noperator log: %s", out, status, op.LogPath)
	}
	show(ctx, c, "get", "tenants", "-o", "wide")
	show(ctx, c, "get", "namespaces", "-l", "tenantry.io/tenant", "-L", "tenantry.io/tenant,pod-security.kubernetes.io/enforce")
	show(ctx, c, "get", "resourcequotas,limitranges,rolebindings,networkpolicies", "-A", "-l", "tenantry.io/tenant")

	step("Tiers: TenantClasses gold and standard; team-b and team-c inherit from them")
	for _, class := range []string{"standard", "gold"} {
		if err := waitRolledOut(ctx, c, class); err != nil {
			return err
		}
	}
	show(ctx, c, "get", "tenantclasses")
	show(ctx, c, "get", "resourcequota", "tenantry-compute", "-n", "team-b-dev", "-o", "jsonpath=team-b-dev requests.cpu: {.spec.hard.requests\\.cpu}{\"\\n\"}")
	fmt.Println("\nRaising the gold tier's compute quota once reaches every gold Tenant:")
	if _, err := c.Kubectl(ctx, "patch", "tenantclass", "gold", "--type=json",
		"-p", `[{"op":"replace","path":"/spec/defaults/resourceQuotas/0/hard/requests.cpu","value":"24"}]`); err != nil {
		return err
	}
	if err := waitRolledOut(ctx, c, "gold"); err != nil {
		return err
	}
	show(ctx, c, "get", "tenantclass", "gold")
	fmt.Println("\nGold's compute quota is tenant-wide (scope: Tenant): each namespace holds a share of the total:")
	show(ctx, c, "get", "resourcequota", "tenantry-compute", "-n", "team-b-dev", "-o", "jsonpath=team-b-dev requests.cpu: {.spec.hard.requests\\.cpu}{\"\\n\"}")
	show(ctx, c, "get", "resourcequota", "tenantry-compute", "-n", "team-b-prod", "-o", "jsonpath=team-b-prod requests.cpu: {.spec.hard.requests\\.cpu}{\"\\n\"}")
	show(ctx, c, "get", "tenant", "team-b", "-o", "jsonpath=team-b status.quotas: {.status.quotas}{\"\\n\"}")

	step("Self-service: team-a's owner claims namespace team-a-feature-x from team-a-dev")
	if _, err := c.Kubectl(ctx, "--as=bob", "--as-group=team-a-admins", "apply", "-f",
		"config/samples/tenantry_v1alpha1_namespaceclaim_team_a_feature_x.yaml"); err != nil {
		return err
	}
	if out, err := c.Kubectl(ctx, "wait", "--for=condition=Ready", "namespaceclaim/team-a-feature-x", "-n", "team-a-dev", "--timeout=60s"); err != nil {
		claim, _ := c.Kubectl(ctx, "get", "namespaceclaim", "-n", "team-a-dev", "-o", "yaml")
		return fmt.Errorf("sample NamespaceClaim not Ready: %s\n%s\noperator log: %s", out, claim, op.LogPath)
	}
	show(ctx, c, "get", "namespaceclaims", "-A")
	show(ctx, c, "get", "resourcequotas,rolebindings,networkpolicies", "-n", "team-a-feature-x")

	step("Drift walk-through: deleting NetworkPolicy tenantry-isolation in team-a-dev")
	elapsed, err := deleteAndWatchRestore(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("Restored by Tenantry after %s.\n", elapsed.Round(time.Millisecond))
	show(ctx, c, "get", "tenant", "team-a", "-o", "jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{\"\\n\"}{end}")

	step("Security walk-through: what the API server refuses, with the operator out of the loop")
	if err := refused(ctx, c, "a Tenant that lists kube-system", []byte(grabKubeSystem),
		"apply", "-f", "-"); err != nil {
		return err
	}
	// pam: a cluster-wide admin who is not in system:masters.
	if _, err := c.Kubectl(ctx, "create", "clusterrolebinding", "demo-pam-cluster-admin", "--clusterrole=cluster-admin", "--user=pam"); err != nil {
		return err
	}
	if err := refused(ctx, c, "a cluster admin outside system:masters weakening Pod Security through the status subresource", nil,
		"--as=pam", "patch", "namespace", "team-a-dev", "--subresource=status", "--type=merge",
		"-p", `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`); err != nil {
		return err
	}
	if err := refused(ctx, c, "a tenant owner opening its namespace to every user", nil,
		"--as=bob", "--as-group=team-a-admins", "-n", "team-a-dev", "create", "rolebinding", "everyone",
		"--clusterrole=admin", "--group=system:authenticated"); err != nil {
		return err
	}
	if err := refused(ctx, c, "a tenant owner running an image from a registry team-a does not allow", nil,
		"--as=bob", "--as-group=team-a-admins", "-n", "team-a-dev", "run", "web", "--image=docker.io/evil:1", "--restart=Never"); err != nil {
		return err
	}

	if exitWhenReady {
		step("DEMO_EXIT=1: the samples are Ready; exiting")
		return nil
	}
	fmt.Printf(`
Tenantry is running. Try:

  export KUBECONFIG=%s
  kubectl get tenants -o wide
  kubectl describe tnt team-a                       # conditions, drift records, events
  kubectl -n team-a-dev delete networkpolicy tenantry-isolation
  kubectl get tnt team-a -o jsonpath='{.status.drift}'   # it came back; the finding is recorded
  kubectl --as=bob --as-group=team-a-admins -n team-a-dev create -f - <<<'{"apiVersion":"tenantry.io/v1alpha1","kind":"NamespaceClaim","metadata":{"name":"team-a-feature-y"}}'
  kubectl get nsc -A                                # claims: Namespace, Ready, Reason
  kubectl -n team-a-dev patch resourcequota tenantry-compute --type=merge \
      -p '{"spec":{"hard":{"pods":"99"}}}' --field-manager=intruder   # corrected, attributed to "intruder"
  kubectl --as=bob --as-group=team-a-admins -n team-a-dev delete networkpolicy tenantry-isolation   # denied by policy
  kubectl --as=bob --as-group=team-a-admins -n team-a-dev run web --image=docker.io/nginx:1   # not an allowed registry
  kubectl get namespace team-a-dev -o jsonpath='{.metadata.annotations}'   # the guardrails the policies read

Operator log: %s   metrics: %s
Press Ctrl-C to stop everything.
`, kubeconfig, op.LogPath, op.MetricsURL)
	<-ctx.Done()
	return nil
}

// deleteAndWatchRestore deletes a managed NetworkPolicy and measures the time
// until it exists again.
func deleteAndWatchRestore(ctx context.Context, c *localcluster.Cluster) (time.Duration, error) {
	args := []string{"-n", "team-a-dev", "get", "networkpolicy", "tenantry-isolation", "-o", "name"}
	start := time.Now()
	if _, err := c.Kubectl(ctx, "-n", "team-a-dev", "delete", "networkpolicy", "tenantry-isolation", "--wait=false"); err != nil {
		return 0, err
	}
	for time.Since(start) < 30*time.Second {
		if out, err := c.Kubectl(ctx, args...); err == nil && strings.TrimSpace(out) != "" {
			return time.Since(start), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, errors.New("NetworkPolicy team-a-dev/tenantry-isolation was not restored within 30s")
}

// grabKubeSystem is a Tenant a platform engineer might try: the CRD refuses it.
const grabKubeSystem = `apiVersion: tenantry.io/v1alpha1
kind: Tenant
metadata: {name: grab}
spec:
  owners: [{kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}]
  namespaces: [{name: kube-system}]
`

// refused runs kubectl and shows how the API server refused it; an attempt
// that succeeds fails the demo.
func refused(ctx context.Context, c *localcluster.Cluster, what string, stdin []byte, args ...string) error {
	fmt.Printf("\n$ kubectl %s    # %s\n", strings.Join(args, " "), what)
	var out string
	var err error
	if stdin != nil {
		out, err = c.KubectlStdin(ctx, stdin, args...)
	} else {
		out, err = c.Kubectl(ctx, args...)
	}
	if err == nil {
		return fmt.Errorf("%s was admitted: %s", what, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, "Error") || strings.Contains(line, "denied") || strings.Contains(line, "invalid") {
			fmt.Println("refused:", strings.TrimSpace(line))
			return nil
		}
	}
	fmt.Println("refused:", strings.TrimSpace(out))
	return nil
}

func show(ctx context.Context, c *localcluster.Cluster, args ...string) {
	fmt.Printf("\n$ kubectl %s\n", strings.Join(args, " "))
	out, err := c.Kubectl(ctx, args...)
	fmt.Print(out)
	if err != nil {
		fmt.Println(err)
	}
}

// waitRolledOut waits until a class reports its current generation applied
// by every member (Ready, as a GitOps tool waiting on it would), and every
// member Ready, so that the table shown next is settled.
func waitRolledOut(ctx context.Context, c *localcluster.Cluster, class string) error {
	gen, err := c.Kubectl(ctx, "get", "tenantclass", class, "-o", "jsonpath={.metadata.generation}")
	if err != nil {
		return err
	}
	for _, cond := range []string{"--for=jsonpath={.status.observedGeneration}=" + strings.TrimSpace(gen), "--for=condition=Ready"} {
		if out, err := c.Kubectl(ctx, "wait", cond, "tenantclass/"+class, "--timeout=60s"); err != nil {
			return fmt.Errorf("class %s did not roll out: %s", class, out)
		}
	}
	members, err := c.Kubectl(ctx, "get", "tenantclass", class, "-o", "jsonpath={.status.tenants}")
	if err != nil {
		return err
	}
	if strings.TrimSpace(members) == "" { // no member
		return nil
	}
	if out, err := c.Kubectl(ctx, "wait", "--for=jsonpath={.status.readyTenants}="+strings.TrimSpace(members), "tenantclass/"+class, "--timeout=60s"); err != nil {
		return fmt.Errorf("class %s: members not Ready: %s", class, out)
	}
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
