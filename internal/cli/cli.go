// Package cli is the tenantry command: `render` prints the objects Tenantry
// would manage for Tenants in a file, offline; `plan` shows what applying
// them to a cluster would do. Both run the operator's own code — the
// effective spec (internal/effective), the renderer and the planner
// (internal/plan), gathered through internal/gather — so that what they show
// is what the operator does, never a second implementation.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/plan"
)

// Exit codes.
const (
	// ExitNoChanges: nothing would change (and render succeeded).
	ExitNoChanges = 0
	// ExitError: the command failed, or the API server refuses a Tenant.
	ExitError = 1
	// ExitChanges: applying the Tenants would change something.
	ExitChanges = 2
)

// Runner runs the command with its input and output.
type Runner struct {
	In       io.Reader
	Out, Err io.Writer
	// Configure, when set, adjusts the REST config `plan` loaded (tests
	// count its requests with it).
	Configure func(*rest.Config)
}

const usage = `tenantry: what Tenantry makes of Tenants, before they are applied.

Usage:
  tenantry render -f FILE [flags]   the objects Tenantry would manage, as YAML (offline)
  tenantry plan   -f FILE [flags]   what applying FILE to the cluster would do (read-only)

FILE is a file, a directory (its .yaml, .yml and .json files) or - for
stdin; -f may be repeated. Tenants and TenantClasses are read (--class
reads more classes), other documents skipped.

plan exits 0 when nothing would change, 2 when something would, 1 on error
or when the API server refuses a Tenant.

Run 'tenantry COMMAND -h' for the flags of a command.
`

// Run runs the command line args (without the program name) and returns the
// exit code.
func (r Runner) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(r.Err, usage)
		return ExitError
	}
	var err error
	code := ExitNoChanges
	switch args[0] {
	case "render":
		err = r.render(args[1:])
	case "plan":
		code, err = r.plan(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		_, _ = fmt.Fprint(r.Out, usage)
		return ExitNoChanges
	default:
		_, _ = fmt.Fprintf(r.Err, "tenantry: unknown command %q\n\n%s", args[0], usage)
		return ExitError
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitNoChanges
	case err != nil:
		_, _ = fmt.Fprintln(r.Err, "tenantry:", err)
		return ExitError
	}
	return code
}

// options are the flags of both commands; plan uses all of them.
type options struct {
	files, classes             files
	allowedClusterRoles        string
	defaultOwnerClusterRole    string
	operatorNamespace          string
	protectedNamespaces        string
	protectedNamespaceSelector string
	kubeconfig, context        string
	output                     string
}

// flags parses args into options; the operator settings default as in the
// operator (cmd/main.go), the operator's namespace as config/default has it.
func (r Runner) flags(name string, args []string, cluster bool) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("tenantry "+name, flag.ContinueOnError)
	fs.SetOutput(r.Err)
	fs.Var(&o.files, "f", "Tenants to read: a file, a directory, or - for stdin (repeatable).")
	fs.Var(&o.classes, "class", "TenantClasses to read besides those in -f: a file, a directory, or - (repeatable).")
	fs.StringVar(&o.defaultOwnerClusterRole, "default-owner-cluster-role", "admin",
		"The operator's --default-owner-cluster-role: bound to owners when spec.ownerClusterRole is empty.")
	if cluster {
		fs.StringVar(&o.allowedClusterRoles, "allowed-cluster-roles", "admin,edit,view",
			"The operator's --allowed-cluster-roles.")
		fs.StringVar(&o.operatorNamespace, "operator-namespace", "tenantry-system",
			"The operator's own namespace (never a tenant namespace).")
		fs.StringVar(&o.protectedNamespaces, "protected-namespaces", "", "The operator's --protected-namespaces.")
		fs.StringVar(&o.protectedNamespaceSelector, "protected-namespace-selector", "",
			"The operator's --protected-namespace-selector.")
		fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to the kubeconfig (default: $KUBECONFIG, then ~/.kube/config).")
		fs.StringVar(&o.context, "context", "", "The kubeconfig context to use (default: its current context).")
		fs.StringVar(&o.output, "o", "text", "Output format: text or json.")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q; FILE is given with -f", fs.Args())
	}
	if o.output != "" && o.output != "text" && o.output != "json" {
		return nil, fmt.Errorf("-o %s: want text or json", o.output)
	}
	return o, nil
}

func (o *options) effective() effective.Options {
	return effective.Options{DefaultOwnerClusterRole: o.defaultOwnerClusterRole}
}

func (o *options) planConfig() (plan.Config, error) {
	sel, err := labels.Parse(o.protectedNamespaceSelector)
	if err != nil {
		return plan.Config{}, fmt.Errorf("--protected-namespace-selector: %w", err)
	}
	return plan.Config{
		AllowedClusterRoles:        splitList(o.allowedClusterRoles),
		OperatorNamespace:          o.operatorNamespace,
		ProtectedNamespaces:        splitList(o.protectedNamespaces),
		ProtectedNamespaceSelector: sel,
	}, nil
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
