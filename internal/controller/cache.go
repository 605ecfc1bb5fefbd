package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/drift"
)

// fingerprintAnnotation carries, on the cache's copy of a managed object
// only, the drift.Fingerprint of the object as the watch delivered it. It is
// never written to the API server.
const fingerprintAnnotation = "cache.tenantry.io/fingerprint"

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
	return cache.Options{ByObject: byObject}
}

// slimForCache turns a managed object from a watch into the copy the cache
// keeps: identity, labels, owner references, deletion state, the status the operator reports
// (namespace phase, quota usage) and the fingerprint of the fields Tenantry
// owns. Content and managedFields are dropped: at thousands of tenants they
// were most of the operator's memory, and an object whose fingerprint is as
// desired needs nothing else. Anything else is read fresh from the API
// server (ensure), which is where drift is confirmed and attributed anyway.
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
	out.SetUID(obj.GetUID())
	out.SetResourceVersion(obj.GetResourceVersion())
	out.SetLabels(obj.GetLabels())
	out.SetDeletionTimestamp(obj.GetDeletionTimestamp())
	out.SetOwnerReferences(obj.GetOwnerReferences()) // events reach the Tenant through them (Owns)
	fp, _ := drift.Fingerprint(obj)                  // "" when tenantry owns nothing: never matches
	out.SetAnnotations(map[string]string{fingerprintAnnotation: fp})
	switch o := obj.(type) {
	case *corev1.Namespace:
		out.(*corev1.Namespace).Status = o.Status
	case *corev1.ResourceQuota:
		out.(*corev1.ResourceQuota).Status = o.Status
	}
	return out, nil
}

// cachedFingerprint is the fingerprint a cached copy carries; slim is false
// for an object read from the API server, and for none.
func cachedFingerprint(obj client.Object) (fp string, slim bool) {
	if obj == nil {
		return "", false
	}
	fp, slim = obj.GetAnnotations()[fingerprintAnnotation]
	return fp, slim
}
