package gather

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// DryRunNamespace is where passthrough children are dry-run, as by the
// operator: it exists in every cluster, and a dry run stores nothing.
const DryRunNamespace = "default"

// Direct is a Source that reads straight from the API server, for the
// `tenantry plan` command: no cache, every object whole (content and
// managedFields), so the planner evaluates each one as the operator does
// after a fresh read. Its only requests that are not reads are dry runs.
type Direct struct {
	// Client must not be cache-backed; its scheme must know the managed kinds.
	Client client.Client
	// GrantsNamespace holds the hostname grant table (the operator's namespace).
	GrantsNamespace string

	mu        sync.Mutex
	unchecked []string
}

var (
	_ Source      = (*Direct)(nil)
	_ ClassSource = (*Direct)(nil)
)

// TenantObjects lists the objects of kind k labelled for tenant.
func (d *Direct) TenantObjects(ctx context.Context, k kinds.Kind, tenant string) ([]client.Object, error) {
	list, err := d.newList(k)
	if err != nil {
		return nil, err
	}
	if err := d.Client.List(ctx, list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant}); err != nil {
		return nil, fmt.Errorf("list %s labelled for tenant %s: %w", k.Resource, tenant, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok {
			return nil, fmt.Errorf("list %s: item of type %T", k.Resource, item)
		}
		out = append(out, obj)
	}
	return out, nil
}

// newList is the typed list of kind k: <Kind>List in its group version.
func (d *Direct) newList(k kinds.Kind) (client.ObjectList, error) {
	gvk, err := d.Client.GroupVersionKindFor(k.New())
	if err != nil {
		return nil, err
	}
	obj, err := d.Client.Scheme().New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return nil, err
	}
	list, ok := obj.(client.ObjectList)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not a list", k.Name, obj)
	}
	return list, nil
}

// Namespace reads a namespace whole; nil when it does not exist. It is
// never a cached copy.
func (d *Direct) Namespace(ctx context.Context, name string) (*corev1.Namespace, bool, error) {
	obj, err := d.Read(ctx, kinds.Namespace, "", name)
	if err != nil || obj == nil {
		return nil, false, err
	}
	return obj.(*corev1.Namespace), false, nil
}

// Class reads a TenantClass; nil when it does not exist.
func (d *Direct) Class(ctx context.Context, name string) (*tenantryv1alpha1.TenantClass, error) {
	class := &tenantryv1alpha1.TenantClass{}
	if err := d.Client.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get TenantClass %s: %w", name, err)
	}
	return class, nil
}

// Tenants lists every Tenant: the planner picks those whose hostnames
// overlap.
func (d *Direct) Tenants(ctx context.Context, _ []string) ([]tenantryv1alpha1.Tenant, error) {
	var list tenantryv1alpha1.TenantList
	if err := d.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// HostnameGrants reads the hostname grant table.
func (d *Direct) HostnameGrants(ctx context.Context) (plan.Grants, error) {
	return ReadGrants(ctx, d.Client, d.GrantsNamespace)
}

// Claims lists the NamespaceClaims in a namespace.
func (d *Direct) Claims(ctx context.Context, namespace string) ([]tenantryv1alpha1.NamespaceClaim, error) {
	var list tenantryv1alpha1.NamespaceClaimList
	if err := d.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list NamespaceClaims in %s: %w", namespace, err)
	}
	return list.Items, nil
}

// Read reads an object whole; nil when absent.
func (d *Direct) Read(ctx context.Context, kind, namespace, name string) (client.Object, error) {
	obj := kinds.ByName(kind).New()
	if err := d.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get %s: %w", kinds.Key(kind, namespace, name), err)
	}
	return obj, nil
}

// DryRun applies o in DryRunNamespace without storing it, as the operator
// does, but without Tenantry's labels either: the protect-managed-objects
// policy refuses a labelled object to anyone but the operator, dry run or
// not, and the check is about content. A dry run the API server neither
// accepts nor refuses for its content (no permission, a webhook) is kept,
// for Unchecked, and its error returned: the planner ignores it, as it does
// in the operator.
func (d *Direct) DryRun(ctx context.Context, o render.Object) error {
	data, err := json.Marshal(o.Apply)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return err
	}
	u.SetNamespace(DryRunNamespace)
	u.SetOwnerReferences(nil) // the owner is cluster-scoped
	u.SetLabels(nil)
	err = d.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership, client.DryRunAll)
	if err != nil && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) && !apierr.IsTransient(err) {
		d.mu.Lock()
		d.unchecked = append(d.unchecked, fmt.Sprintf("%s %s: %s", o.Kind, o.Name, apierr.RefusalMessage(err)))
		d.mu.Unlock()
	}
	return err
}

// Unchecked returns, and forgets, the dry runs since the last call that
// gave no verdict on content.
func (d *Direct) Unchecked() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.unchecked
	d.unchecked = nil
	return out
}
