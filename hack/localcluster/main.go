// Command localcluster starts the local control plane (etcd, kube-apiserver,
// kube-controller-manager) and keeps it running until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenantry/tenantry/internal/localcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	binDir := flag.String("bin-dir", "bin/k8s/1.37.2", "directory with the Kubernetes binaries")
	kubeconfig := flag.String("kubeconfig-out", ".local/kubeconfig", "where to write the admin kubeconfig")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: *binDir, KubeconfigPath: *kubeconfig})
	if err != nil {
		return err
	}
	fmt.Printf("Local control plane up. export KUBECONFIG=%s\n", *kubeconfig)
	<-ctx.Done()
	fmt.Println("Stopping the local control plane")
	return c.Stop()
}
