package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/gather"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// preflightNamespace is where passthrough children are dry-run: it exists
// in every cluster, and a dry run stores nothing.
const preflightNamespace = "default"

// cacheSource is what the operator gathers from: the label-filtered cache
// of slim copies, and the API server for what the cache cannot show.
type cacheSource struct{ r *TenantReconciler }

var (
	_ gather.Source      = cacheSource{}
	_ gather.ClassSource = cacheSource{}
)

func (r *TenantReconciler) source() cacheSource { return cacheSource{r: r} }

// TenantObjects are the cached copies themselves, from the tenant index;
// callers must not modify them.
func (c cacheSource) TenantObjects(ctx context.Context, k kinds.Kind, tenant string) ([]client.Object, error) {
	return cache.TenantObjects(ctx, c.r.informers, k.New(), tenant)
}

// Namespace reads a namespace from the cache, which holds only labelled
// namespaces, then from the API server for an unlabelled or new one (the
// one place a pass reads uncached on its normal path).
func (c cacheSource) Namespace(ctx context.Context, name string) (*corev1.Namespace, bool, error) {
	ns := &corev1.Namespace{}
	err := c.r.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	if err == nil {
		return ns, true, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, false, err
	}
	if err := c.r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return ns, false, nil
}

// Claims lists the NamespaceClaims in a namespace from the cache.
func (c cacheSource) Claims(ctx context.Context, namespace string) ([]tenantryv1alpha1.NamespaceClaim, error) {
	var list tenantryv1alpha1.NamespaceClaimList
	if err := c.r.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Class reads a TenantClass from the cache; nil when it does not exist.
func (c cacheSource) Class(ctx context.Context, name string) (*tenantryv1alpha1.TenantClass, error) {
	class := &tenantryv1alpha1.TenantClass{}
	if err := c.r.Client.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return class, nil
}

// HostnameGrants is the grant table as the operator last wrote or found it,
// else as cached.
func (c cacheSource) HostnameGrants(ctx context.Context) (plan.Grants, error) {
	if c.r.grants == nil {
		return plan.Grants{}, nil
	}
	if held := c.r.grants.held(); held != nil {
		return held, nil
	}
	return gather.ReadGrants(ctx, c.r.Client, c.r.Config.OperatorNamespace)
}

// Read reads an object whole from the API server, bypassing the cache.
func (c cacheSource) Read(ctx context.Context, kind, namespace, name string) (client.Object, error) {
	obj := kinds.ByName(kind).New()
	if err := c.r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return obj, nil
}

// Tenants are the cached Tenants with a hostname in the same domain as one
// of hostnames (the index of setup.go): every one that may overlap.
func (c cacheSource) Tenants(ctx context.Context, hostnames []string) ([]tenantryv1alpha1.Tenant, error) {
	var out []tenantryv1alpha1.Tenant
	seen := map[string]bool{}
	for _, h := range hostnames {
		parent := plan.HostnameParent(h)
		if seen["parent/"+parent] {
			continue
		}
		seen["parent/"+parent] = true
		var list tenantryv1alpha1.TenantList
		if err := c.r.Client.List(ctx, &list, client.MatchingFields{indexHostnameParent: parent}); err != nil {
			return nil, err
		}
		for _, t := range list.Items {
			if !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// DryRun applies d in preflightNamespace without storing it. Content the
// API server accepted once (for any Tenant) is not sent again.
func (c cacheSource) DryRun(ctx context.Context, d render.Object) error {
	key, err := contentKey(d)
	if err != nil {
		return err
	}
	if c.r.accepted.has(key) {
		return nil
	}
	err = dryRun(ctx, c.r.Client, d)
	switch {
	case err == nil:
		c.r.accepted.add(key)
	case !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) && !apierr.IsTransient(err):
		logf.FromContext(ctx).V(1).Info("Preflight dry run not possible", "kind", d.Kind, "name", d.Name, "error", err.Error())
	}
	return err
}

// dryRun applies d in preflightNamespace without storing it.
func dryRun(ctx context.Context, w client.Writer, d render.Object) error {
	u, err := toUnstructured(d)
	if err != nil {
		return err
	}
	u.SetNamespace(preflightNamespace)
	u.SetOwnerReferences(nil) // the owner is cluster-scoped; keep the check about content
	return w.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership, client.DryRunAll)
}

// contentKey identifies what the API server validates of d: its kind and
// everything but metadata.
func contentKey(d render.Object) (string, error) {
	u, err := toUnstructured(d)
	if err != nil {
		return "", err
	}
	delete(u.Object, "metadata")
	data, err := json.Marshal(u.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return string(sum[:]), nil
}

// acceptedContent remembers content the API server accepted, bounded: when
// full it starts over (a cost of a few dry runs, never a wrong answer).
type acceptedContent struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

const maxAcceptedContent = 4096

func (a *acceptedContent) has(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.keys[key]
	return ok
}

func (a *acceptedContent) add(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys == nil || len(a.keys) >= maxAcceptedContent {
		a.keys = map[string]struct{}{}
	}
	a.keys[key] = struct{}{}
}
