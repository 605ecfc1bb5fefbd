package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestDriftRepairGoesFirst: with one worker and a backlog of new Tenants
// queued, an intruder's change to a Ready Tenant's quota is repaired next,
// not after the backlog.
func TestDriftRepairGoesFirst(t *testing.T) {
	operator.stop()
	operator = startOperator(Config{MaxConcurrentReconciles: 1})
	defer func() {
		operator.stop()
		operator = startOperator(Config{})
	}()
	run := time.Now().UnixMilli() % 100000 // namespaces of earlier runs are retained: new names
	prefix := fmt.Sprintf("lane-%d-", run)
	target := fullTenant(prefix + "target")
	createTenant(t, target)
	waitReady(t, target.Name)

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("%s%d", prefix, i)
			if err := k8s.Create(context.Background(), newTenant(name, name+"-a")); err != nil {
				t.Errorf("create Tenant %s: %v", name, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		t.Cleanup(func() { deleteTenant(t, name) })
	}
	urgentBefore := metricValue(t, "tenantry_urgent_reconciles_total", nil)
	before := readyWithPrefix(t, prefix)
	if before > n/2 {
		t.Fatalf("%d of %d Tenants were Ready already: no backlog to jump", before, n)
	}
	d := driftTargets(target.Name)[1] // its quota
	d.act(t, "modify")
	d.waitRestored(t)
	after := readyWithPrefix(t, prefix)
	// The pass in flight, and one more that may have started as the
	// intruder's change arrived.
	if after-before > 2 {
		t.Fatalf("%d Tenants of the backlog became Ready before the repair (%d before, %d after): it waited its turn", after-before, before, after)
	}
	t.Logf("repaired with %d of %d backlog Tenants Ready", after, n)

	// The backlog's own writes echo back: none of that is urgent.
	NewWithT(t).Eventually(func() int { return readyWithPrefix(t, prefix) }, eventually, 100*time.Millisecond).Should(Equal(n))
	if urgent := metricValue(t, "tenantry_urgent_reconciles_total", nil) - urgentBefore; urgent < 1 || urgent > 2 {
		t.Fatalf("%v urgent passes, want the repair's (1, or 2 if the intruder's patch and the repair's echo raced)", urgent)
	}

	// A status update (the quota controller's, here the admin's) is not
	// drift: not urgent.
	urgentBefore = metricValue(t, "tenantry_urgent_reconciles_total", nil)
	q := &corev1.ResourceQuota{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: d.namespace, Name: d.name}, q); err != nil {
		t.Fatal(err)
	}
	q.Status.Hard, q.Status.Used = q.Spec.Hard, corev1.ResourceList{"pods": resource.MustParse("1")}
	if err := k8s.Status().Update(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if urgent := metricValue(t, "tenantry_urgent_reconciles_total", nil) - urgentBefore; urgent != 0 {
		t.Fatalf("a quota's status update made %v urgent passes", urgent)
	}
}

// readyWithPrefix counts the Ready Tenants whose name has prefix (not the
// target, whose name is not numbered).
func readyWithPrefix(t *testing.T, prefix string) int {
	t.Helper()
	var list tenantryv1alpha1.TenantList
	if err := k8s.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, tn := range list.Items {
		if strings.HasPrefix(tn.Name, prefix) && !strings.HasSuffix(tn.Name, "target") &&
			condition(&tn, tenantryv1alpha1.ConditionReady).Status == metav1.ConditionTrue {
			ready++
		}
	}
	return ready
}

// TestEnforcedShareGoesFirst: a new Tenant with a tenant-wide quota waits
// for the quota controller to enforce its shares before its owners are
// bound; once it has, the Tenant's next pass goes ahead of a backlog of new
// Tenants, so Tenants become Ready as their shares are enforced, not after
// every other new Tenant's first pass.
func TestEnforcedShareGoesFirst(t *testing.T) {
	operator.stop()
	operator = startOperator(Config{MaxConcurrentReconciles: 1})
	defer func() {
		operator.stop()
		operator = startOperator(Config{})
	}()
	ctx := context.Background()
	run := time.Now().UnixMilli() % 100000
	prefix := fmt.Sprintf("share-%d-", run)
	waiter := newTenant(prefix+"waiter", prefix+"waiter-a", prefix+"waiter-b")
	waiter.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Scope: tenantryv1alpha1.QuotaScopeTenant,
		Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
	createTenant(t, waiter)
	// No quota controller runs here: the shares stay unenforced, the
	// namespaces Pending.
	NewWithT(t).Eventually(func() bool {
		tn := &tenantryv1alpha1.Tenant{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: waiter.Name}, tn); err != nil || len(tn.Status.Namespaces) != 2 {
			return false
		}
		return tn.Status.Namespaces[0].Phase == tenantryv1alpha1.NamespacePending && len(tn.Status.Quotas) == 1
	}, eventually, 100*time.Millisecond).Should(BeTrue(), "the waiter's namespaces wait for the quota controller")

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("%sb-%d", prefix, i)
			if err := k8s.Create(ctx, newTenant(name, name+"-a")); err != nil {
				t.Errorf("create Tenant %s: %v", name, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		name := fmt.Sprintf("%sb-%d", prefix, i)
		t.Cleanup(func() { deleteTenant(t, name) })
	}
	before := readyWithPrefix(t, prefix+"b-")
	if before > n/2 {
		t.Fatalf("%d of %d Tenants were Ready already: no backlog to jump", before, n)
	}
	// What the quota controller does: status.hard from spec.hard.
	for _, ns := range []string{prefix + "waiter-a", prefix + "waiter-b"} {
		q := &corev1.ResourceQuota{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tenantry-compute"}, q); err != nil {
			t.Fatal(err)
		}
		q.Status.Hard, q.Status.Used = q.Spec.Hard, corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}
		if err := k8s.Status().Update(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, waiter.Name)
	after := readyWithPrefix(t, prefix+"b-")
	// The pass in flight, and one per enforced share that may have
	// started before the second share was enforced.
	if after-before > 3 {
		t.Fatalf("%d Tenants of the backlog became Ready before the waiter (%d before, %d after): it waited its turn", after-before, before, after)
	}
	t.Logf("waiter Ready with %d of %d backlog Tenants Ready", after, n)
}
