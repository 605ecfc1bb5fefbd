package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The operator's namespace and ServiceAccount as config/default (and the
// chart's defaults) install them; tests, the demo and the benchmark run the
// manager as this identity.
const (
	OperatorNamespace      = "tenantry-system"
	OperatorServiceAccount = "tenantry-controller-manager"
)

// Kubectl runs this control plane's kubectl as the admin and returns its
// combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.KubectlPath(), append([]string{"--kubeconfig=" + c.KubeconfigPath}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %v: %w: %s", args, err, out.String())
	}
	return out.String(), nil
}

// KubectlStdin runs kubectl as the admin with stdin as its input.
func (c *Cluster) KubectlStdin(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.KubectlPath(), append([]string{"--kubeconfig=" + c.KubeconfigPath}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %v: %w: %s", args, err, Tail(out.Bytes(), 2000))
	}
	return out.String(), nil
}

// InstallKustomization applies a kustomize directory (server-side, as
// `make deploy` does) and waits for the Tenant CRD to be served.
func (c *Cluster) InstallKustomization(ctx context.Context, dir string) error {
	if _, err := c.Kubectl(ctx, "apply", "--server-side", "--force-conflicts", "-k", dir); err != nil {
		return err
	}
	if _, err := c.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd/tenants.tenantry.io"); err != nil {
		return err
	}
	return c.waitPoliciesInForce(ctx)
}

// fenceProbe is a ClusterRole the operator-fence policy refuses the operator:
// it would aggregate into admin.
const fenceProbe = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: tenantry:tenant:policy-probe
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
`

// waitPoliciesInForce waits until the admission policies just applied are
// enforced: the API server loads policies from its informer in a periodic
// refresh (a second apart), so a request right after the apply can pass
// unchecked. It dry-runs, as the operator, a write the fence refuses until
// it is refused, then lets one more refresh pass so that every policy of the
// same apply is loaded too.
func (c *Cluster) waitPoliciesInForce(ctx context.Context) error {
	user, groups := ServiceAccountUser(OperatorNamespace, OperatorServiceAccount)
	args := []string{"create", "--dry-run=server", "-f", "-", "--as=" + user}
	for _, g := range groups {
		args = append(args, "--as-group="+g)
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		out, err := c.KubectlStdin(ctx, []byte(fenceProbe), args...)
		if err == nil {
			last = fmt.Errorf("the operator-fence policy is not in force yet: %s", out)
			return false, nil
		}
		last = err
		return bytes.Contains([]byte(err.Error()), []byte("ValidatingAdmissionPolicy 'tenantry-operator-fence'")), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the admission policies: %w (last: %w)", err, last)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(1500 * time.Millisecond):
		return nil
	}
}

// OperatorOptions say how to run the manager binary against the cluster.
type OperatorOptions struct {
	// Binary is the manager binary (bin/manager).
	Binary string
	// Namespace and ServiceAccount are the identity the operator runs as.
	Namespace, ServiceAccount string
	// Dir receives the operator's kubeconfig and log.
	Dir string
	// Args are extra flags; metrics and probe addresses default to free ports.
	Args []string
	// MetricsPort and ProbePort; 0 picks free ports.
	MetricsPort, ProbePort int
	// Env is added to the process's environment (TENANTRY_MEMORY_LIMIT,
	// as the chart sets it from the container's memory limit).
	Env []string
}

// Operator is a running manager process.
type Operator struct {
	cmd  *exec.Cmd
	done chan struct{}
	// LogPath is the operator's log file.
	LogPath string
	// MetricsURL is the operator's Prometheus endpoint.
	MetricsURL string
}

// StartOperator runs the manager binary as a local process that impersonates
// its ServiceAccount, so it has exactly the RBAC it has in a cluster, and
// waits until it reports ready.
func (c *Cluster) StartOperator(ctx context.Context, opts OperatorOptions) (*Operator, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	user, groups := ServiceAccountUser(opts.Namespace, opts.ServiceAccount)
	kubeconfig := filepath.Join(opts.Dir, "operator.kubeconfig")
	if err := WriteImpersonatingKubeconfig(c.KubeconfigPath, kubeconfig, user, groups); err != nil {
		return nil, err
	}
	metricsPort, probePort := opts.MetricsPort, opts.ProbePort
	var err error
	if metricsPort == 0 {
		if metricsPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if probePort == 0 {
		if probePort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
		"--leader-election-namespace=" + opts.Namespace,
	}, opts.Args...)
	logPath := filepath.Join(opts.Dir, "operator.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Binary, args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start operator: %w", err)
	}
	o := &Operator{cmd: cmd, done: make(chan struct{}), LogPath: logPath,
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(o.done) }()

	err = waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), o.done)
	if err != nil {
		_ = o.Stop()
		logs, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("operator not ready: %w\n%s", err, Tail(logs, 4000))
	}
	return o, nil
}

// ManagerBinary is the manager binary the tests run: $MANAGER_BIN, or
// bin/manager under repoRoot (`make build`).
func ManagerBinary(repoRoot string) string {
	if bin := os.Getenv("MANAGER_BIN"); bin != "" {
		return bin
	}
	return filepath.Join(repoRoot, "bin", "manager")
}

// Stop sends SIGTERM and waits (SIGKILL after 15 s).
func (o *Operator) Stop() error {
	if o == nil || o.cmd.Process == nil {
		return nil
	}
	stopProcessGroup(o.cmd.Process.Pid, o.done, 15*time.Second)
	return nil
}

// Metrics returns the operator's Prometheus metrics text.
func (o *Operator) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.MetricsURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// Tail is the last n bytes of b, for logs in error messages.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// PID is the operator's process ID, 0 when it is not running.
func (o *Operator) PID() int {
	if o == nil || o.cmd.Process == nil {
		return 0
	}
	select {
	case <-o.done:
		return 0
	default:
		return o.cmd.Process.Pid
	}
}

// Signal sends sig to the operator process (not its process group).
func (o *Operator) Signal(sig syscall.Signal) error {
	if o == nil || o.cmd.Process == nil {
		return errors.New("operator not started")
	}
	return o.cmd.Process.Signal(sig)
}

// Done is closed when the operator process has exited.
func (o *Operator) Done() <-chan struct{} { return o.done }

// ExitCode is the operator's exit code once Done is closed; -1 when killed
// by a signal.
func (o *Operator) ExitCode() int { return o.cmd.ProcessState.ExitCode() }
