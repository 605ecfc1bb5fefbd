// Package cache configures the operator's cache of managed objects: only
// objects carrying the tenant label, indexed by tenant, each kept as a slim
// copy (identity, the status the operator reads, and a fingerprint of the
// fields Tenantry owns) so that memory follows tenants, not cluster size.
package cache

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/kinds"
)

// slimKey marks, in the labels of the cache's copies of managed objects only,
// a slim copy (Slim). The colon makes it an invalid label key: no
// stored object can carry it, so an object read from the API server is
// never taken for a cached copy.
const slimKey = "tenantry.io/cache:slim"

// slimOwnerKey holds, in a slim copy's labels, ownerUID of the object.
const slimOwnerKey = "tenantry.io/cache:owner"

// Options restricts the cache of every managed kind to labelled objects,
// so memory follows tenants, not cluster size, and keeps of each object only
// what the reconciler reads from it (see Slim). Reads return the
// cached copy itself, without a deep copy: the reconciler never mutates a
// managed object it read (Tenants, which it does mutate, keep the default).
//
// Of ConfigMaps it keeps only the hostname grant table, in grantsNamespace
// (the operator's; none when empty).
func Options(grantsNamespace string) crcache.Options {
	byObject := map[client.Object]crcache.ByObject{}
	for _, k := range kinds.All() {
		obj := k.New()
		byObject[obj] = crcache.ByObject{
			Label:                 TenantLabelSelector(),
			Transform:             Slim,
			UnsafeDisableDeepCopy: ptr.To(true),
		}
	}
	// Tenants are cached whole, but for their managedFields, which the
	// reconciler never reads (a third of a Tenant's size).
	byObject[&tenantryv1alpha1.Tenant{}] = crcache.ByObject{Transform: dropManagedFields}
	// NamespaceClaims likewise; they keep the namespace index, by which a
	// pass lists the claims in its Tenant's namespaces.
	byObject[&tenantryv1alpha1.NamespaceClaim{}] = crcache.ByObject{Transform: dropManagedFields}
	if grantsNamespace != "" {
		byObject[&corev1.ConfigMap{}] = crcache.ByObject{
			Namespaces: map[string]crcache.Config{grantsNamespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", kinds.GrantTableName),
			Transform:  dropManagedFields,
		}
	}
	return crcache.Options{ByObject: byObject, NewInformer: newInformer}
}

func dropManagedFields(in any) (any, error) {
	if obj, ok := in.(client.Object); ok {
		obj.SetManagedFields(nil)
	}
	return in, nil
}

// tenantIndex indexes the cached managed objects by their tenant label.
const tenantIndex = "tenant"

// newInformer gives the informer of a managed kind one index, by tenant,
// instead of controller-runtime's namespace index: the reconciler looks
// managed objects up by name or by tenant, never by namespace, and at
// thousands of tenants each index costs megabytes (a set per namespace and
// kind). Other kinds keep the default.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	if _, managed := kinds.Lookup(obj.(client.Object)); managed {
		indexers = toolscache.Indexers{tenantIndex: byTenantLabel}
	}
	return toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
}

func byTenantLabel(obj any) ([]string, error) {
	if o, ok := obj.(client.Object); ok {
		if v := o.GetLabels()[tenantryv1alpha1.TenantLabel]; v != "" {
			return []string{v}, nil
		}
	}
	return nil, nil
}

// TenantObjects are the cached objects of obj's kind labelled for tenant.
func TenantObjects(ctx context.Context, informers crcache.Informers, obj client.Object, tenant string) ([]client.Object, error) {
	inf, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return nil, err
	}
	indexed, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("the informer of %T has no indexer", obj)
	}
	items, err := indexed.GetIndexer().ByIndex(tenantIndex, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// Slim turns a managed object from a watch into the copy the cache
// keeps: name, namespace, resourceVersion, deletion state, the status the
// operator reports (namespace phase, quota usage), the tenant label, and the
// fingerprint of the fields Tenantry owns. Content, other labels, owner
// references and managedFields are dropped: at thousands of tenants they
// were most of the operator's memory, and an object whose fingerprint is as
// desired needs nothing else. Anything else is read fresh from the API
// server (ensure), which is where drift is confirmed and attributed anyway.
//
// Two fields of the copy hold what no stored object has, to cost nothing
// per object: its labels are a map shared by the tenant's copies (tenant
// label and slimKey), and its generation, which nothing reads on a managed
// object, is the 64-bit fingerprint.
func Slim(in any) (any, error) {
	obj, ok := in.(client.Object)
	if !ok {
		return in, nil // a tombstone
	}
	if _, slim := Fingerprint(obj); slim {
		return obj, nil // already slim: informers may hand an object over twice
	}
	k := kinds.Of(obj)
	out := k.New()
	out.SetName(obj.GetName())
	out.SetNamespace(obj.GetNamespace())
	out.SetResourceVersion(obj.GetResourceVersion())
	out.SetDeletionTimestamp(obj.GetDeletionTimestamp())
	out.SetLabels(slimLabels.of(obj.GetLabels()[tenantryv1alpha1.TenantLabel], ownerUID(obj)))
	out.SetGeneration(int64(fingerprint(obj))) //nolint:gosec // a bit pattern, not a number
	if k.KeepStatus != nil {
		k.KeepStatus(obj, out)
	}
	return out, nil
}

// ownerUID is the UID of the Tenant an object was made for: a namespace's
// tenantry.io/tenant-uid annotation, a child's controller reference to a
// Tenant. Empty when there is none (the label alone proves nothing).
func ownerUID(obj client.Object) types.UID {
	if _, ok := obj.(*corev1.Namespace); ok {
		return types.UID(obj.GetAnnotations()[tenantryv1alpha1.TenantUIDAnnotation])
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller && ref.Kind == "Tenant" &&
			ref.APIVersion == tenantryv1alpha1.GroupVersion.String() {
			return ref.UID
		}
	}
	return ""
}

// OwnerOf is ownerUID for a cached slim copy or an object read whole.
func OwnerOf(obj client.Object) types.UID {
	if _, slim := Fingerprint(obj); slim {
		return types.UID(obj.GetLabels()[slimOwnerKey])
	}
	return ownerUID(obj)
}

// fingerprint is drift.Fingerprint of an object the transform owns: its
// managedFields are dropped before the conversion, which then costs a
// fraction. 0 when Tenantry owns nothing of it: that never matches.
func fingerprint(obj client.Object) uint64 {
	owned, ok := drift.OwnedFields(obj)
	if !ok {
		return 0
	}
	obj.SetManagedFields(nil)
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return 0
	}
	fp, _ := drift.FingerprintContent(content, owned)
	return fp
}

// Fingerprint is the fingerprint a cached copy carries; slim is false
// for an object read from the API server, and for none.
func Fingerprint(obj client.Object) (fp uint64, slim bool) {
	if obj == nil {
		return 0, false
	}
	if _, slim = obj.GetLabels()[slimKey]; !slim {
		return 0, false
	}
	return uint64(obj.GetGeneration()), true //nolint:gosec // the bit pattern Slim stored
}

// slimLabels hands out the label maps of slim copies, one per tenant and
// owner UID (nearly always one per tenant). Like everything in the cache
// they are shared and must not be modified.
var slimLabels = labelSets{byTenant: map[string]map[types.UID]map[string]string{}}

type labelSets struct {
	mu       sync.Mutex
	byTenant map[string]map[types.UID]map[string]string
}

func (l *labelSets) of(tenant string, owner types.UID) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	byOwner, ok := l.byTenant[tenant]
	if !ok {
		byOwner = map[types.UID]map[string]string{}
		l.byTenant[tenant] = byOwner
	}
	m, ok := byOwner[owner]
	if !ok {
		m = map[string]string{tenantryv1alpha1.TenantLabel: tenant, slimKey: "", slimOwnerKey: string(owner)}
		byOwner[owner] = m
	}
	return m
}

// forget drops a deleted Tenant's maps (copies still holding them keep them).
func (l *labelSets) forget(tenant string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byTenant, tenant)
}

// Forget drops a deleted Tenant's label maps (copies still holding them keep them).
func Forget(tenant string) { slimLabels.forget(tenant) }

// Remembers says whether label maps of tenant are kept.
func Remembers(tenant string) bool {
	slimLabels.mu.Lock()
	defer slimLabels.mu.Unlock()
	_, ok := slimLabels.byTenant[tenant]
	return ok
}

// TenantLabelSelector selects every object Tenantry manages. The cache holds
// only such objects, so memory follows tenants, not cluster size.
func TenantLabelSelector() labels.Selector {
	req, err := labels.NewRequirement(tenantryv1alpha1.TenantLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant, valid key
	}
	return labels.NewSelector().Add(*req)
}
