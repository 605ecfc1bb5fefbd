package cache

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
)

// storedQuota is a ResourceQuota as the API server serves it after tenantry
// applied it: content, status, owner reference and managedFields.
func storedQuota(tenant, name string) *corev1.ResourceQuota {
	now := metav1.Now()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: tenant + "-prod", ResourceVersion: "42", Generation: 1, UID: "u-1",
			DeletionTimestamp: &now,
			Labels:            map[string]string{tenantryv1alpha1.TenantLabel: tenant, tenantryv1alpha1.ManagedByLabel: "tenantry"},
			Annotations:       map[string]string{"note": "x"},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "tenantry.io/v1alpha1", Kind: "Tenant", Name: tenant, UID: "t-1"}},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: tenantryv1alpha1.FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1",
				FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:tenantry.io/tenant":{}}},"f:spec":{"f:hard":{"f:pods":{}}}}`),
			}, {
				Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", FieldsType: "FieldsV1",
				FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:used":{"f:pods":{}}}}`),
			}},
		},
		Spec:   corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("10")}},
		Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{"pods": resource.MustParse("10")}, Used: corev1.ResourceList{"pods": resource.MustParse("3")}},
	}
	return q
}

func TestSlimForCacheKeepsWhatTheReconcilerReads(t *testing.T) {
	full := storedQuota("slim", "tenantry-compute")
	want, ok := drift.Fingerprint(full.DeepCopy())
	if !ok || want == 0 {
		t.Fatalf("no fingerprint for an applied object: %v %v", want, ok)
	}
	out, err := Slim(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	slim := out.(*corev1.ResourceQuota)
	if slim.Name != full.Name || slim.Namespace != full.Namespace || slim.ResourceVersion != "42" || !slim.DeletionTimestamp.Equal(full.DeletionTimestamp) {
		t.Fatalf("identity or deletion state lost: %+v", slim.ObjectMeta)
	}
	if !reflect.DeepEqual(slim.Status, full.Status) {
		t.Fatalf("quota status lost: %+v", slim.Status)
	}
	// Tenant-scope shares are moved from the hard values in place.
	if !reflect.DeepEqual(slim.Spec.Hard, full.Spec.Hard) || slim.Spec.Scopes != nil {
		t.Fatalf("quota spec: %+v, want its hard values only", slim.Spec)
	}
	if slim.ManagedFields != nil || slim.OwnerReferences != nil || slim.Annotations != nil || slim.UID != "" {
		t.Fatalf("the copy keeps content it should drop: %+v", slim)
	}
	if got := slim.Labels; len(got) != 3 || got[tenantryv1alpha1.TenantLabel] != "slim" {
		t.Fatalf("labels = %v, want the tenant label and the slim mark", got)
	}
	if fp, isSlim := Fingerprint(slim); !isSlim || fp != want {
		t.Fatalf("cached fingerprint %v (slim %v), want %v", fp, isSlim, want)
	}
	// Informers may hand the copy over again: it stays as it is.
	if again, _ := Slim(slim); again != any(slim) {
		t.Fatal("a slim copy was converted again")
	}
	// The tenant's copies share one label map.
	other, _ := Slim(storedQuota("slim", "tenantry-services"))
	if reflect.ValueOf(other.(*corev1.ResourceQuota).Labels).UnsafePointer() != reflect.ValueOf(slim.Labels).UnsafePointer() {
		t.Fatal("copies of one tenant should share their label map")
	}
	// Equal resource lists share one map, across tenants; others do not.
	third := storedQuota("another", "tenantry-compute")
	third.Status.Used = corev1.ResourceList{"pods": resource.MustParse("4")}
	copy3, _ := Slim(third)
	q2, q3 := other.(*corev1.ResourceQuota), copy3.(*corev1.ResourceQuota)
	same := func(a, b corev1.ResourceList) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	if !same(q2.Spec.Hard, slim.Spec.Hard) || !same(q3.Status.Hard, slim.Status.Hard) || !same(slim.Spec.Hard, slim.Status.Hard) {
		t.Fatal("equal quota lists should share one map")
	}
	if same(q3.Status.Used, slim.Status.Used) || q3.Status.Used.Pods().String() != "4" || slim.Status.Used.Pods().String() != "3" {
		t.Fatalf("different usage shared a map: %v, %v", q3.Status.Used, slim.Status.Used)
	}
	// Any change to a field tenantry owns changes the fingerprint.
	changed := storedQuota("slim", "tenantry-compute")
	changed.Spec.Hard["pods"] = resource.MustParse("11")
	out, _ = Slim(changed)
	if fp, _ := Fingerprint(out.(*corev1.ResourceQuota)); fp == want {
		t.Fatal("a changed value kept the fingerprint")
	}
}

func TestSlimForCacheEdges(t *testing.T) {
	// Tenantry owns nothing: fingerprint 0, which no desired object has.
	foreign := storedQuota("edge", "foreign")
	foreign.ManagedFields = foreign.ManagedFields[1:]
	out, _ := Slim(foreign)
	if fp, isSlim := Fingerprint(out.(*corev1.ResourceQuota)); !isSlim || fp != 0 {
		t.Fatalf("foreign object: fingerprint %v slim %v", fp, isSlim)
	}
	// An object read from the API server is never taken for a cached copy.
	if _, isSlim := Fingerprint(storedQuota("edge", "direct")); isSlim {
		t.Fatal("a stored object was taken for a cached copy")
	}
	if _, isSlim := Fingerprint(nil); isSlim {
		t.Fatal("nil is no cached copy")
	}
	// Tombstones pass through.
	tomb := toolscache.DeletedFinalStateUnknown{Key: "ns/x", Obj: storedQuota("edge", "x")}
	if got, _ := Slim(tomb); !reflect.DeepEqual(got, tomb) {
		t.Fatalf("tombstone changed: %+v", got)
	}
	// A deleted Tenant's label map is forgotten; later copies get a new one.
	first := slimLabels.of("gone", "")
	Forget("gone")
	if Remembers("gone") {
		t.Fatal("Forget kept the tenant's maps")
	}
	if reflect.ValueOf(slimLabels.of("gone", "")).UnsafePointer() == reflect.ValueOf(first).UnsafePointer() {
		t.Fatal("forget kept the map")
	}
}
