package controller

import (
	"context"
	"maps"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

// grantTable is the stored hostname grant table's data (nil when absent).
func grantTable(g Gomega) map[string]string {
	cm := &corev1.ConfigMap{}
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: kinds.GrantTableName}, cm)
	if client.IgnoreNotFound(err) != nil {
		g.Expect(err).NotTo(HaveOccurred())
	}
	if err != nil {
		return nil
	}
	return cm.Data
}

// hostnameEntries picks the keys of the grant table under test.
func hostnameEntries(data map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := data[k]; ok {
			out[k] = v
		}
	}
	return out
}

// The grant table records who holds each hostname; the holder keeps a
// hostname against an older Tenant that adds it to its spec later; and
// someone else's change to the table, or its deletion, is repaired from
// what the operator decided, without moving a grant.
func TestHostnameGrantTable(t *testing.T) {
	g := NewWithT(t)
	keys := []string{"old.gt.test", "shop.gt.test", "_.w.gt.test", "_in.gt.test", "evil.gt.test"}
	older := newTenant("grant-older", "grant-older-a")
	older.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: []tenantryv1alpha1.Hostname{"old.gt.test"}}
	createTenant(t, older)
	waitReady(t, older.Name)
	newer := newTenant("grant-newer", "grant-newer-a")
	newer.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: []tenantryv1alpha1.Hostname{"shop.gt.test", "*.w.gt.test"}}
	createTenant(t, newer)
	waitReady(t, newer.Name)
	want := map[string]string{
		"old.gt.test": "grant-older", "shop.gt.test": "grant-newer", "_.w.gt.test": "grant-newer", "_in.gt.test": "*",
	}
	g.Eventually(func() map[string]string { return hostnameEntries(grantTable(g), keys...) }, eventually).Should(Equal(want))

	// The older Tenant asks for the newer one's hostname: it does not get it.
	updateTenant(t, older.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.Workloads.Hostnames = append(tn.Spec.Workloads.Hostnames, "shop.gt.test")
	})
	got := waitCondition(t, older.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonHostnameConflict)
	const msg = "Hostnames held by another Tenant were not granted: shop.gt.test (tenant grant-newer); " +
		"Ingresses may not serve them until that Tenant gives them up"
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != msg {
		t.Fatalf("Stalled message = %q", c.Message)
	}
	waitReady(t, newer.Name)
	waitSettled(t, time.Second)
	if v := get(t, &corev1.Namespace{}, "", "grant-newer-a").Annotations["tenantry.io/hostnames"]; v != "shop.gt.test,*.w.gt.test" {
		t.Fatalf("the holder's hostnames annotation = %q", v)
	}
	if v := get(t, &corev1.Namespace{}, "", "grant-older-a").Annotations["tenantry.io/hostnames"]; v != "old.gt.test" {
		t.Fatalf("the older claimant's hostnames annotation = %q", v)
	}
	if got := hostnameEntries(grantTable(g), keys...); !maps.Equal(got, want) {
		t.Fatalf("grant table = %v, want %v", got, want)
	}

	// An admin hands the hostname to the older Tenant in the table and adds
	// one of their own: both are undone.
	cm := &corev1.ConfigMap{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: kinds.GrantTableName}, cm)).To(Succeed())
	cm.Data["shop.gt.test"] = "grant-older"
	cm.Data["evil.gt.test"] = "grant-older"
	g.Expect(k8s.Update(context.Background(), cm)).To(Succeed())
	g.Eventually(func() map[string]string { return hostnameEntries(grantTable(g), keys...) }, eventually).Should(Equal(want))

	// Deleted, it comes back with the same grants.
	g.Expect(k8s.Delete(context.Background(), cm)).To(Succeed())
	g.Eventually(func() map[string]string { return hostnameEntries(grantTable(g), keys...) }, eventually).Should(Equal(want))
	if c := condition(getTenant(g, older.Name), tenantryv1alpha1.ConditionStalled); c.Reason != tenantryv1alpha1.ReasonHostnameConflict {
		t.Fatalf("the older claimant took the hostname after the table was tampered with: %+v", c)
	}

	// The holder lets go: the older claimant gets it.
	updateTenant(t, newer.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.Workloads.Hostnames = []tenantryv1alpha1.Hostname{"*.w.gt.test"}
	})
	waitReady(t, older.Name)
	want = map[string]string{"old.gt.test": "grant-older", "shop.gt.test": "grant-older", "_.w.gt.test": "grant-newer", "_in.gt.test": "grant-older"}
	g.Eventually(func() map[string]string { return hostnameEntries(grantTable(g), keys...) }, eventually).Should(Equal(want))
	deleteTenant(t, older.Name)
	deleteTenant(t, newer.Name)
	g.Eventually(func() map[string]string { return hostnameEntries(grantTable(g), keys...) }, eventually).Should(BeEmpty())
}
