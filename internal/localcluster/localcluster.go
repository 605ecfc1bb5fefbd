// Package localcluster runs a real Kubernetes control plane on this machine:
// etcd and kube-apiserver through envtest, plus kube-controller-manager so that
// namespace deletion, garbage collection, quota accounting and ClusterRole
// aggregation (admin/edit/view) work as in a cluster. The binaries are the
// ones `make k8s-bins` builds from module source.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// DefaultControllers are the kube-controller-manager controllers the local
// control plane runs. clusterrole-aggregation matters: without it the
// built-in admin/edit/view ClusterRoles grant nothing.
var DefaultControllers = []string{"namespace", "garbagecollector", "resourcequota", "clusterrole-aggregation"}

// controllerManagerUser is the identity kube-controller-manager runs as, the
// same name as in a real cluster, so policies exempting it are tested for real.
const controllerManagerUser = "system:kube-controller-manager"

// Options configure a local control plane.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and kubectl.
	BinDir string
	// KubeconfigPath is where the admin kubeconfig is written.
	KubeconfigPath string
	// Controllers run by kube-controller-manager; DefaultControllers when empty.
	Controllers []string
	// Output receives the control plane processes' output; nil discards it.
	Output io.Writer
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config is a cluster-admin (system:masters) REST config.
	Config *rest.Config
	// KubeconfigPath is the admin kubeconfig file.
	KubeconfigPath string
	// BinDir holds the Kubernetes binaries.
	BinDir string

	env *envtest.Environment
	kcm *exec.Cmd
	// kcmDone is closed when kube-controller-manager has exited.
	kcmDone chan struct{}
	output  io.Writer

	// apiserver is kube-apiserver once StartAPIServer restarted it (until
	// then envtest runs it); apiserverArgs its command line while stopped.
	apiserver     *exec.Cmd
	apiserverDone chan struct{}
	apiserverArgs []string
}

// Start starts etcd, kube-apiserver and kube-controller-manager and writes an
// admin kubeconfig. On error, whatever was started is stopped again.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.BinDir == "" {
		return nil, errors.New("localcluster: BinDir is required")
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("localcluster: %s missing in %s (run `make k8s-bins`): %w", bin, opts.BinDir, err)
		}
	}
	if len(opts.Controllers) == 0 {
		opts.Controllers = DefaultControllers
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    opts.BinDir,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	if opts.Output != nil {
		env.AttachControlPlaneOutput = true
		env.ControlPlane.GetAPIServer().Out = opts.Output
		env.ControlPlane.GetAPIServer().Err = opts.Output
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("localcluster: start etcd and kube-apiserver: %w", err)
	}
	c = &Cluster{env: env, BinDir: opts.BinDir, output: opts.Output}
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()

	admin, err := env.AddUser(envtest.User{Name: "tenantry-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	c.Config = admin.Config()
	if opts.KubeconfigPath != "" {
		if err := writeKubeconfig(admin, opts.KubeconfigPath); err != nil {
			return nil, err
		}
		c.KubeconfigPath = opts.KubeconfigPath
	}
	if err := c.startControllerManager(ctx, opts); err != nil {
		return nil, err
	}
	return c, nil
}

func writeKubeconfig(u *envtest.AuthenticatedUser, path string) error {
	data, err := u.KubeConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// startControllerManager runs kube-controller-manager as
// system:kube-controller-manager. A real cluster gives each controller its own
// ServiceAccount; here one identity runs them all, so it is bound to
// cluster-admin (not system:masters, which admission policies exempt).
func (c *Cluster) startControllerManager(ctx context.Context, opts Options) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "localcluster:kube-controller-manager"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: controllerManagerUser}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("localcluster: bind kube-controller-manager: %w", err)
	}
	kcmUser, err := c.env.AddUser(envtest.User{Name: controllerManagerUser}, nil)
	if err != nil {
		return err
	}
	dir := c.env.ControlPlane.APIServer.CertDir // removed by envtest on Stop
	kubeconfig := filepath.Join(dir, "kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmUser, kubeconfig); err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(opts.Controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-namespace-syncs=4",
		"--concurrent-gc-syncs=10",
		"--namespace-sync-period=30s",
		// Large clusters raise the default 20/30: every new ResourceQuota,
		// and every change to one, waits for a status write of the quota
		// controller before admission enforces it (docs/operations.md).
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		"--concurrent-resource-quota-syncs=10",
	}
	cmd, done, err := startChild(filepath.Join(c.BinDir, "kube-controller-manager"), args, opts.Output)
	if err != nil {
		return fmt.Errorf("localcluster: start kube-controller-manager: %w", err)
	}
	c.kcm, c.kcmDone = cmd, done
	return c.waitForAggregation(ctx, cs)
}

// startChild starts a control plane process in its own process group,
// killed if we die without stopping it, with its output to out (discarded
// when nil); done is closed when it has exited.
func startChild(path string, args []string, out io.Writer) (cmd *exec.Cmd, done chan struct{}, err error) {
	cmd = exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return cmd, done, nil
}

// waitForAggregation waits until the controller manager has aggregated the
// admin ClusterRole: from then on RBAC in the cluster behaves as usual.
func (c *Cluster) waitForAggregation(ctx context.Context, cs kubernetes.Interface) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-c.kcmDone:
			return false, errors.New("kube-controller-manager exited")
		default:
		}
		role, err := cs.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // not there yet: keep polling
		}
		return len(role.Rules) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("localcluster: kube-controller-manager did not aggregate ClusterRole admin: %w", err)
	}
	return nil
}

// Stop stops kube-controller-manager (SIGTERM, then SIGKILL after 10 s), then
// kube-apiserver and etcd, and removes their data directories.
func (c *Cluster) Stop() error {
	var errs []error
	if c.kcm != nil && c.kcm.Process != nil {
		stopProcessGroup(c.kcm.Process.Pid, c.kcmDone, 10*time.Second)
	}
	if c.apiserver != nil && c.apiserver.Process != nil {
		stopProcessGroup(c.apiserver.Process.Pid, c.apiserverDone, 5*time.Second)
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// KubectlPath is the kubectl binary of this control plane's version.
func (c *Cluster) KubectlPath() string { return filepath.Join(c.BinDir, "kubectl") }

// AddUser returns a REST config that authenticates as user with groups.
func (c *Cluster) AddUser(user string, groups ...string) (*rest.Config, error) {
	u, err := c.env.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// WriteImpersonatingKubeconfig writes a kubeconfig that authenticates as the
// admin and impersonates user with groups; the operator runs this way as its
// ServiceAccount, with exactly the RBAC the ServiceAccount has in a cluster.
func WriteImpersonatingKubeconfig(adminKubeconfig, path, user string, groups []string) error {
	cfg, err := clientcmd.LoadFromFile(adminKubeconfig)
	if err != nil {
		return err
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
		auth.ImpersonateGroups = groups
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// ServiceAccountUser is the username and groups of a ServiceAccount, as the
// API server authenticates it.
func ServiceAccountUser(namespace, name string) (string, []string) {
	return fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name),
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// FreePort returns a TCP port on 127.0.0.1 that is free right now.
func FreePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		// Never the same port twice in this process: clusters started side
		// by side pick theirs at the same time, and the kernel may hand a
		// closed port out again.
		handedOut.Lock()
		_, taken := handedOut.ports[port]
		handedOut.ports[port] = struct{}{}
		handedOut.Unlock()
		if !taken {
			return port, nil
		}
	}
}

var handedOut = struct {
	sync.Mutex
	ports map[int]struct{}
}{ports: map[int]struct{}{}}

// stopProcessGroup sends SIGTERM to a process group, and SIGKILL if it has
// not exited (done closed) within grace.
func stopProcessGroup(pgid int, done <-chan struct{}, grace time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}
