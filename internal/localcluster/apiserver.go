package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// StopAPIServer kills kube-apiserver (SIGKILL: it is gone at once, as when
// its node fails; a SIGTERM'd one drains for up to a minute) and leaves etcd
// and kube-controller-manager running, to test how clients ride out an API
// server outage. StartAPIServer starts it again with the same flags,
// certificates and storage.
func (c *Cluster) StopAPIServer() error {
	if c.apiserverArgs != nil {
		return errors.New("localcluster: kube-apiserver is already stopped")
	}
	var pid int
	var args []string
	if c.apiserver != nil { // restarted by us before
		pid, args = c.apiserver.Process.Pid, c.apiserver.Args
	} else {
		var err error
		if pid, args, err = childProcess("kube-apiserver"); err != nil {
			return err
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("localcluster: stop kube-apiserver: %w", err)
	}
	if c.apiserver != nil {
		<-c.apiserverDone
	} else if err := waitGone(pid, 30*time.Second); err != nil {
		return err
	}
	c.apiserver, c.apiserverArgs = nil, args
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer and waits
// until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if c.apiserverArgs == nil {
		return errors.New("localcluster: kube-apiserver is not stopped")
	}
	cmd, done, err := startChild(c.apiserverArgs[0], c.apiserverArgs[1:], c.output)
	if err != nil {
		return fmt.Errorf("localcluster: restart kube-apiserver: %w", err)
	}
	c.apiserver, c.apiserverDone, c.apiserverArgs = cmd, done, nil

	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, errors.New("localcluster: restarted kube-apiserver exited")
		default:
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
}

// childProcess finds this process's child running the named binary and
// returns its PID and command line.
func childProcess(name string) (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := strings.Fields(string(rest))
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) == name {
			return pid, args, nil
		}
	}
	return 0, nil, fmt.Errorf("localcluster: no child process %s", name)
}

// waitGone waits until a process no longer exists (it has been reaped).
func waitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); os.IsNotExist(err) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("localcluster: process %d still running after %s", pid, timeout)
}
