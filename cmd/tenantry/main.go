// Command tenantry shows what Tenantry makes of Tenants before they are
// applied: `tenantry render` (offline) and `tenantry plan` (against a
// cluster, read-only). Named kubectl-tenantry, it is a kubectl plugin. The
// commands are in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tenantry/tenantry/internal/cli"
)

func main() {
	// controller-runtime's client logs nothing a user of this command needs.
	logf.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Runner{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
