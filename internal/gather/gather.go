// Package gather reads what a plan is made from, and only reads: the
// operator gathers through its cache, the `tenantry plan` command straight
// from the API server, both through a Source, and both make their plans
// here, so that the command shows exactly what the operator would do.
package gather

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// Source is where observations come from.
type Source interface {
	// TenantObjects lists the objects of kind k labelled for tenant.
	TenantObjects(ctx context.Context, k kinds.Kind, tenant string) ([]client.Object, error)
	// Namespace reads a namespace, nil when it does not exist; cached says
	// it is the operator's slim cached copy.
	Namespace(ctx context.Context, name string) (ns *corev1.Namespace, cached bool, err error)
	// Read reads an object whole from the API server; nil when absent.
	Read(ctx context.Context, kind, namespace, name string) (client.Object, error)
	// DryRun asks the API server whether it accepts d, storing nothing.
	DryRun(ctx context.Context, d render.Object) error
	// Tenants lists the Tenants that may ask for one of hostnames: at least
	// every Tenant with a hostname overlapping one of them (more, up to
	// every Tenant, is fine: the planner decides).
	Tenants(ctx context.Context, hostnames []string) ([]tenantryv1alpha1.Tenant, error)
	// Claims lists the NamespaceClaims in a namespace.
	Claims(ctx context.Context, namespace string) ([]tenantryv1alpha1.NamespaceClaim, error)
	// HostnameGrants is the grant table in place (plan.Grants): who holds
	// each hostname now. Empty when there is none yet.
	HostnameGrants(ctx context.Context) (plan.Grants, error)
}

// ClassSource reads TenantClasses.
type ClassSource interface {
	// Class returns the named TenantClass, nil when it does not exist.
	Class(ctx context.Context, name string) (*tenantryv1alpha1.TenantClass, error)
}

// Effective reads t's class, if it names one, and returns t's effective
// spec under opts.
func Effective(ctx context.Context, src ClassSource, t *tenantryv1alpha1.Tenant, opts effective.Options) (*effective.Tenant, error) {
	var class *tenantryv1alpha1.TenantClass
	if t.Spec.Class != "" {
		var err error
		if class, err = src.Class(ctx, t.Spec.Class); err != nil {
			return nil, err
		}
	}
	return effective.WithClass(t, class, opts), nil
}

// Observe gathers what the plan for e starts from: t's status, every
// namespace it may touch, its labelled objects, the other Tenants' claims
// on its hostnames and, for a spec not yet applied, the API server's
// verdict on its passthrough content.
func Observe(ctx context.Context, src Source, t *tenantryv1alpha1.Tenant, e *effective.Tenant) (*plan.Observed, error) {
	obs := &plan.Observed{
		Status:     t.Status,
		Deleting:   !t.DeletionTimestamp.IsZero(),
		Namespaces: map[string]plan.Namespace{},
		Inventory:  map[string]tenantryv1alpha1.InventoryEntry{},
		Objects:    map[string]client.Object{},
		Full:       map[string]client.Object{},
		Refused:    map[string]string{},
	}
	for _, entry := range t.Status.Inventory {
		obs.Inventory[entry.Name] = entry
	}
	labelled, err := src.TenantObjects(ctx, kinds.ByName(kinds.Namespace), e.Name)
	if err != nil {
		return nil, err
	}
	for _, o := range labelled {
		if ns, ok := o.(*corev1.Namespace); ok {
			obs.Namespaces[ns.Name] = plan.Namespace{Object: ns, Cached: true}
		}
	}
	names := slices.Collect(maps.Keys(obs.Inventory))
	if !obs.Deleting {
		names = append(names, e.NamespaceNames()...)
	}
	for _, entry := range obs.Inventory {
		if host, _, ok := strings.Cut(entry.Claim, "/"); ok {
			names = append(names, host) // its departure depends on it
		}
	}
	if err := observeNamespaces(ctx, src, obs, names); err != nil {
		return nil, err
	}
	if err := observeClaims(ctx, src, obs, e.Name); err != nil {
		return nil, err
	}
	for _, k := range kinds.Children() {
		items, err := src.TenantObjects(ctx, k, e.Name)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			obs.Objects[kinds.Key(k.Name, o.GetNamespace(), o.GetName())] = o
		}
	}
	obs.Created = t.CreationTimestamp
	if hostnames := e.Hostnames(); len(hostnames) > 0 && !obs.Deleting {
		tenants, err := src.Tenants(ctx, hostnames)
		if err != nil {
			return nil, err
		}
		for i := range tenants {
			if tenants[i].UID != e.UID {
				obs.HostnameClaims = append(obs.HostnameClaims, plan.ClaimOf(&tenants[i]))
			}
		}
		if obs.HeldHostnames, err = src.HostnameGrants(ctx); err != nil {
			return nil, err
		}
	}
	if !obs.Deleting && plan.NeedsPreflight(e, t.Status) {
		if obs.Preflight, err = preflight(ctx, src, e); err != nil {
			return nil, err
		}
	}
	return obs, nil
}

// observeNamespaces reads the named namespaces not observed yet.
func observeNamespaces(ctx context.Context, src Source, obs *plan.Observed, names []string) error {
	for _, name := range names {
		if _, seen := obs.Namespaces[name]; seen {
			continue
		}
		ns, cached, err := src.Namespace(ctx, name)
		if err != nil {
			return err
		}
		obs.Namespaces[name] = plan.Namespace{Object: ns, Cached: cached}
	}
	return nil
}

// observeClaims lists the NamespaceClaims in every namespace labelled for
// the tenant (the plan decides which are proven its), and reads the
// namespace each asks for: whether it exists decides the claim.
func observeClaims(ctx context.Context, src Source, obs *plan.Observed, tenant string) error {
	var asked []string
	for _, name := range slices.Sorted(maps.Keys(obs.Namespaces)) {
		ns := obs.Namespaces[name].Object
		if ns == nil || ns.Labels[tenantryv1alpha1.TenantLabel] != tenant {
			continue
		}
		claims, err := src.Claims(ctx, name)
		if err != nil {
			return err
		}
		for _, c := range claims {
			asked = append(asked, c.Name)
		}
		obs.Claims = append(obs.Claims, claims...)
	}
	return observeNamespaces(ctx, src, obs, asked)
}

// Plan makes the plan for e from obs, reading whole what the plan asks to
// confirm and planning again until nothing is left to confirm (the second
// plan can ask for more: an object whose verdict depended on the first).
func Plan(ctx context.Context, src Source, e *effective.Tenant, obs *plan.Observed, cfg plan.Config) (*plan.Plan, error) {
	for range 4 {
		p := plan.Build(e, obs, cfg)
		if len(p.Confirm) == 0 {
			return p, nil
		}
		if err := confirm(ctx, src, obs, p.Confirm); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("gather: the plan kept asking for reads")
}

// confirmReads is how many confirming reads of one pass are in flight at
// once.
const confirmReads = 8

// confirm reads the refs whole into obs.Full, each once and at the same
// time: a recreated tenant-wide share confirms every share of its quota,
// and one round trip after another was most of that repair's time on a
// loaded API server. Every read still starts after the plan that asked for
// it, which is all the plan relies on.
func confirm(ctx context.Context, src Source, obs *plan.Observed, refs []plan.Ref) error {
	keys := make([]string, 0, len(refs))
	unique := make([]plan.Ref, 0, len(refs))
	for _, ref := range refs {
		if !slices.Contains(keys, ref.Key()) {
			keys = append(keys, ref.Key())
			unique = append(unique, ref)
		}
	}
	read := make([]client.Object, len(unique))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(confirmReads)
	for i, ref := range unique {
		g.Go(func() error {
			obj, err := src.Read(gctx, ref.Kind, ref.Namespace, ref.Name)
			read[i] = obj
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, key := range keys {
		obs.Full[key] = read[i]
	}
	return nil
}

// preflight dry-runs the passthrough content of a new spec: its validation
// is the API server's own. It returns the refusals; a refusal for where it
// was tried rather than for what it is (a webhook or policy guarding the
// namespace) cannot be decided here, and the apply itself will tell.
func preflight(ctx context.Context, src Source, e *effective.Tenant) ([]string, error) {
	var refusals []string
	for _, d := range plan.Passthrough(e) {
		switch err := src.DryRun(ctx, d); {
		case err == nil:
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			refusals = append(refusals, fmt.Sprintf("%s %s: %s", d.Kind, d.Name, apierr.RefusalMessage(err)))
		case apierr.IsTransient(err):
			return nil, fmt.Errorf("dry-run %s %s: %w", d.Kind, d.Name, err)
		}
	}
	return refusals, nil
}
