package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

const eventually = 20 * time.Second

// newTenant is a minimal valid Tenant with the given namespaces.
func newTenant(name string, namespaces ...string) *tenantryv1alpha1.Tenant {
	t := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-admins", APIGroup: rbacv1.GroupName}},
		},
	}
	for _, ns := range namespaces {
		t.Spec.Namespaces = append(t.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
	}
	return t
}

func createTenant(t *testing.T, tn *tenantryv1alpha1.Tenant) {
	t.Helper()
	if err := k8s.Create(context.Background(), tn); err != nil {
		t.Fatalf("create Tenant %s: %v", tn.Name, err)
	}
	t.Cleanup(func() { deleteTenant(t, tn.Name) })
}

// deleteTenant deletes a Tenant and waits until it is gone (its finalizer
// released what it had).
func deleteTenant(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Delete(ctx, tn); client.IgnoreNotFound(err) != nil {
		t.Errorf("delete Tenant %s: %v", name, err)
		return
	}
	g := NewWithT(t)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: name}, tn))
	}, eventually, 100*time.Millisecond).Should(BeTrue(), "Tenant %s was not finalized", name)
}

// getTenant reads a Tenant as the admin.
func getTenant(g Gomega, name string) *tenantryv1alpha1.Tenant {
	tn := &tenantryv1alpha1.Tenant{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, tn)).To(Succeed())
	return tn
}

// condition returns a Tenant condition, or an empty one.
func condition(tn *tenantryv1alpha1.Tenant, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(tn.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{Type: typ}
}

// waitReady waits for Ready=True at the current generation.
func waitReady(t *testing.T, name string) *tenantryv1alpha1.Tenant {
	t.Helper()
	return waitCondition(t, name, tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
}

// waitCondition waits until the Tenant's condition has status and reason at
// the current generation, and returns the Tenant.
func waitCondition(t *testing.T, name, typ string, status metav1.ConditionStatus, reason string) *tenantryv1alpha1.Tenant {
	t.Helper()
	g := NewWithT(t)
	var tn *tenantryv1alpha1.Tenant
	g.Eventually(func(g Gomega) {
		tn = getTenant(g, name)
		c := condition(tn, typ)
		g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation), "observedGeneration")
		g.Expect(c.Status).To(Equal(status), "%s status (%s: %s)", typ, c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "%s reason (%s)", typ, c.Message)
	}, eventually, 100*time.Millisecond).Should(Succeed())
	return tn
}

// get reads an object as the admin; it fails the test unless it exists.
func get[T client.Object](t *testing.T, obj T, namespace, name string) T {
	t.Helper()
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		t.Fatalf("get %T %s/%s: %v", obj, namespace, name, err)
	}
	return obj
}

// absent asserts that an object does not exist (now, or within the timeout).
func eventuallyAbsent(t *testing.T, obj client.Object, namespace, name string) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj))
	}, eventually, 100*time.Millisecond).Should(BeTrue(), "%T %s/%s should not exist", obj, namespace, name)
}

// createNamespace creates a namespace as the admin, with labels.
func createNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// updateTenant re-reads a Tenant, applies mutate and updates it, retrying on
// conflicts (the operator writes status meanwhile).
func updateTenant(t *testing.T, name string, mutate func(*tenantryv1alpha1.Tenant)) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() error {
		tn := &tenantryv1alpha1.Tenant{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, tn); err != nil {
			return err
		}
		mutate(tn)
		return k8s.Update(context.Background(), tn)
	}, eventually).Should(Succeed())
}

// appliedByTenantry reports whether field manager tenantry owns fields of
// the object, i.e. it was applied by us and not released.
func appliedByTenantry(obj client.Object) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == tenantryv1alpha1.FieldManager {
			return true
		}
	}
	return false
}
