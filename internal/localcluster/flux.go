package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// FluxNamespace is where Flux's controllers run, as in a Flux install.
const FluxNamespace = "flux-system"

// fluxRBAC gives the two controllers what a Flux install gives them:
// source-controller manages its own kinds and reads secrets and config maps;
// kustomize-controller is bound to cluster-admin (Flux's cluster-reconciler
// binding), since it applies whatever the repository holds — or, with a
// Kustomization's serviceAccountName, impersonates a narrower identity.
const fluxRBAC = `apiVersion: v1
kind: Namespace
metadata: {name: flux-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: source-controller, namespace: flux-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: kustomize-controller, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: localcluster:flux-source-controller}
rules:
- apiGroups: [source.toolkit.fluxcd.io]
  resources: ["*"]
  verbs: ["*"]
- apiGroups: [""]
  resources: [secrets, configmaps, serviceaccounts, namespaces]
  verbs: [get, list, watch]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: localcluster:flux-source-controller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: localcluster:flux-source-controller}
subjects:
- {kind: ServiceAccount, name: source-controller, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: localcluster:flux-cluster-reconciler}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: kustomize-controller, namespace: flux-system}
`

// FluxOptions say where Flux's binaries are and where its processes keep
// their files.
type FluxOptions struct {
	// BinDir holds source-controller, kustomize-controller and crds/
	// (`make flux-bins` builds them into bin/flux/<version>).
	BinDir string
	// Dir receives the controllers' kubeconfigs, logs and artifact storage.
	Dir string
}

// Flux is source-controller and kustomize-controller running as local
// processes against a Cluster.
type Flux struct {
	procs []*fluxProcess
	// StorageURL is where source-controller serves artifacts.
	StorageURL string
	// LogPaths are the controllers' log files, by name.
	LogPaths map[string]string
}

type fluxProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// InstallFluxCRDs applies the CRDs in dir (from the controllers' module
// source) and waits until the two kinds the tests use are served.
func (c *Cluster) InstallFluxCRDs(ctx context.Context, dir string) error {
	if _, err := c.Kubectl(ctx, "apply", "--server-side", "-f", dir); err != nil {
		return err
	}
	_, err := c.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/gitrepositories.source.toolkit.fluxcd.io", "crd/kustomizations.kustomize.toolkit.fluxcd.io")
	return err
}

// StartFlux installs Flux's CRDs and RBAC and runs source-controller and
// kustomize-controller, each impersonating its ServiceAccount (as the
// operator does), with leader election off, watching all namespaces, and
// source-controller's artifact server on a loopback port it advertises to
// kustomize-controller. It waits until both report ready. A port taken
// between being picked and being bound (by another process picking ports
// at the same time) makes it start again on new ports.
func (c *Cluster) StartFlux(ctx context.Context, opts FluxOptions) (*Flux, error) {
	for attempt := 1; ; attempt++ {
		f, err := c.startFluxOnce(ctx, opts)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return f, err
		}
	}
}

func (c *Cluster) startFluxOnce(ctx context.Context, opts FluxOptions) (f *Flux, err error) {
	if err := c.InstallFluxCRDs(ctx, filepath.Join(opts.BinDir, "crds")); err != nil {
		return nil, err
	}
	if _, err := c.KubectlStdin(ctx, []byte(fluxRBAC), "apply", "--server-side", "-f", "-"); err != nil {
		return nil, err
	}
	ports := make([]int, 5)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	storage := fmt.Sprintf("127.0.0.1:%d", ports[0])
	storagePath := filepath.Join(opts.Dir, "source-controller", "storage")
	if err := os.MkdirAll(storagePath, 0o755); err != nil { // it must exist
		return nil, err
	}
	f = &Flux{StorageURL: "http://" + storage, LogPaths: map[string]string{}}
	defer func() {
		if err != nil {
			_ = f.Stop()
			f = nil
		}
	}()
	common := []string{"--watch-all-namespaces=true", "--enable-leader-election=false", "--log-encoding=console", "--events-addr="}
	controllers := []struct {
		name   string
		health int
		args   []string
	}{
		{"source-controller", ports[2], []string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[1]),
			"--storage-path=" + storagePath,
			"--storage-addr=" + storage, "--storage-adv-addr=" + storage,
		}},
		{"kustomize-controller", ports[4], []string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[3]),
			"--no-remote-bases=true", "--requeue-dependency=5s",
		}},
	}
	for _, ctl := range controllers {
		args := append(append([]string{fmt.Sprintf("--health-addr=127.0.0.1:%d", ctl.health)}, common...), ctl.args...)
		if err := f.start(c, opts, ctl.name, args); err != nil {
			return nil, err
		}
		if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ctl.health), f.procs[len(f.procs)-1].done); err != nil {
			logs, _ := os.ReadFile(f.LogPaths[ctl.name])
			return nil, fmt.Errorf("%s not ready: %w\n%s", ctl.name, err, Tail(logs, 4000))
		}
	}
	return f, nil
}

// start runs one controller as system:serviceaccount:flux-system:<name>.
func (f *Flux) start(c *Cluster, opts FluxOptions, name string, args []string) error {
	dir := filepath.Join(opts.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	user, groups := ServiceAccountUser(FluxNamespace, name)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := WriteImpersonatingKubeconfig(c.KubeconfigPath, kubeconfig, user, groups); err != nil {
		return err
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(opts.BinDir, name), args...)
	// KUBECONFIG, not --kubeconfig: the controllers parse pflags and leave
	// controller-runtime's Go flag unregistered. RUNTIME_NAMESPACE is how
	// they learn their namespace in a pod.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "RUNTIME_NAMESPACE="+FluxNamespace)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &fluxProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(p.done) }()
	f.procs = append(f.procs, p)
	f.LogPaths[name] = logPath
	return nil
}

// waitHealthy polls url until it answers 200, or the process exits (done
// closed).
func waitHealthy(ctx context.Context, url string, done <-chan struct{}) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, errors.New("process exited")
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil //nolint:nilerr // not listening yet
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// Stop stops the controllers (SIGTERM, SIGKILL after 10 s).
func (f *Flux) Stop() error {
	if f == nil {
		return nil
	}
	for _, p := range f.procs {
		if p.cmd.Process != nil {
			stopProcessGroup(p.cmd.Process.Pid, p.done, 10*time.Second)
		}
	}
	return nil
}
