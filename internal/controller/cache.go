package controller

import (
	"context"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
)

// fingerprintKey holds, in the labels of the cache's copy of a managed object
// only, the drift.Fingerprint of the object as the watch delivered it. The
// colon makes it an invalid label key: no stored object can carry it, so an
// object read from the API server is never taken for a cached copy.
const fingerprintKey = "tenantry.io/cache:fingerprint"

// CacheOptions restricts the cache of every managed kind to labelled objects,
// so memory follows tenants, not cluster size, and keeps of each object only
// what the reconciler reads from it (see slimForCache). Reads return the
// cached copy itself, without a deep copy: the reconciler never mutates a
// managed object it read (Tenants, which it does mutate, keep the default).
func CacheOptions() cache.Options {
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range managedTypes() {
		byObject[obj] = cache.ByObject{
			Label:                 TenantLabelSelector(),
			Transform:             slimForCache,
			UnsafeDisableDeepCopy: ptr.To(true),
		}
	}
	return cache.Options{ByObject: byObject, NewInformer: newInformer}
}

// tenantIndex indexes the cached managed objects by their tenant label.
const tenantIndex = "tenant"

// newInformer gives the informer of a managed kind one index, by tenant,
// instead of controller-runtime's namespace index: the reconciler looks
// managed objects up by name or by tenant, never by namespace, and at
// thousands of tenants each index costs megabytes (a set per namespace and
// kind). Other kinds keep the default.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	if _, managed := kindsByType[reflect.TypeOf(obj)]; managed {
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

// tenantObjects are the cached objects of obj's kind labelled for tenant.
func tenantObjects(ctx context.Context, informers cache.Informers, obj client.Object, tenant string) ([]client.Object, error) {
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

// slimForCache turns a managed object from a watch into the copy the cache
// keeps: name, namespace, resourceVersion, deletion state, the status the
// operator reports (namespace phase, quota usage), and as its only labels
// the tenant label and the fingerprint of the fields Tenantry owns. Content,
// other labels, owner references and managedFields are dropped: at thousands
// of tenants they were most of the operator's memory, and an object whose
// fingerprint is as desired needs nothing else. Anything else is read fresh
// from the API server (ensure), which is where drift is confirmed and
// attributed anyway.
func slimForCache(in any) (any, error) {
	obj, ok := in.(client.Object)
	if !ok {
		return in, nil // a tombstone
	}
	if _, slim := cachedFingerprint(obj); slim {
		return obj, nil // already slim: informers may hand an object over twice
	}
	out := kindInfoOf(obj).newObject()
	out.SetName(obj.GetName())
	out.SetNamespace(obj.GetNamespace())
	out.SetResourceVersion(obj.GetResourceVersion())
	out.SetDeletionTimestamp(obj.GetDeletionTimestamp())
	out.SetLabels(map[string]string{
		tenantryv1alpha1.TenantLabel: obj.GetLabels()[tenantryv1alpha1.TenantLabel],
		fingerprintKey:               fingerprint(obj),
	})
	switch o := obj.(type) {
	case *corev1.Namespace:
		out.(*corev1.Namespace).Status = o.Status
	case *corev1.ResourceQuota:
		out.(*corev1.ResourceQuota).Status = o.Status
	}
	return out, nil
}

// fingerprint is drift.Fingerprint of an object the transform owns: its
// managedFields are dropped before the conversion, which then costs a
// fraction. "" when Tenantry owns nothing of it: that never matches.
func fingerprint(obj client.Object) string {
	owned, ok := drift.OwnedFields(obj)
	if !ok {
		return ""
	}
	obj.SetManagedFields(nil)
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return ""
	}
	fp, _ := drift.FingerprintContent(content, owned)
	return fp
}

// cachedFingerprint is the fingerprint a cached copy carries; slim is false
// for an object read from the API server, and for none.
func cachedFingerprint(obj client.Object) (fp string, slim bool) {
	if obj == nil {
		return "", false
	}
	fp, slim = obj.GetLabels()[fingerprintKey]
	return fp, slim
}
