package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// goldClass has a quota, a limit range and baseline Pod Security by default.
func goldClass(name string) *tenantryv1alpha1.TenantClass {
	return &tenantryv1alpha1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantClassSpec{Defaults: tenantryv1alpha1.TenantDefaults{
			PodSecurity: &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityBaseline},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("10")}},
				{Name: "storage", Hard: corev1.ResourceList{"persistentvolumeclaims": resource.MustParse("5")}},
			},
			LimitRange: &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": resource.MustParse("2")}}}},
		}},
	}
}

func createClass(t *testing.T, c *tenantryv1alpha1.TenantClass) {
	t.Helper()
	if err := k8s.Create(context.Background(), c); err != nil {
		t.Fatalf("create TenantClass %s: %v", c.Name, err)
	}
	// Not waited for: a class goes only once no Tenant names it, and the
	// test's Tenants may be cleaned up after it.
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: c.Name}})
	})
}

func updateClass(t *testing.T, name string, mutate func(*tenantryv1alpha1.TenantClass)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		c := &tenantryv1alpha1.TenantClass{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, c); err != nil {
			return err
		}
		mutate(c)
		return k8s.Update(context.Background(), c)
	}, eventually, 100*time.Millisecond).Should(Succeed())
}

// waitRolledOut waits until the class reports every member updated and Ready.
func waitRolledOut(t *testing.T, name string, tenants int32) *tenantryv1alpha1.TenantClass {
	t.Helper()
	c := &tenantryv1alpha1.TenantClass{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, c)).To(Succeed())
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		g.Expect([]int32{c.Status.Tenants, c.Status.UpdatedTenants, c.Status.ReadyTenants}).To(Equal([]int32{tenants, tenants, tenants}))
		g.Expect(meta.IsStatusConditionTrue(c.Status.Conditions, tenantryv1alpha1.ConditionReady)).To(BeTrue())
		g.Expect(meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReconciling)).To(BeNil())
	}, eventually, 100*time.Millisecond).Should(Succeed())
	return c
}

func TestClassDefaultsOverrideAndRollout(t *testing.T) {
	createClass(t, goldClass("gold"))
	inherits := newTenant("gold-a", "gold-a-dev")
	inherits.Spec.Class = "gold"
	overrides := newTenant("gold-b", "gold-b-dev")
	overrides.Spec.Class = "gold"
	overrides.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{
		{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("20")}}}
	overrides.Spec.PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityRestricted}
	createTenant(t, inherits)
	createTenant(t, overrides)
	a, b := waitReady(t, "gold-a"), waitReady(t, "gold-b")
	class := waitRolledOut(t, "gold", 2)
	if a.Status.ClassGeneration != class.Generation || b.Status.ClassGeneration != class.Generation {
		t.Fatalf("classGeneration %d/%d, want %d", a.Status.ClassGeneration, b.Status.ClassGeneration, class.Generation)
	}
	pods := func(ns string) string {
		q := get(t, &corev1.ResourceQuota{}, ns, "tenantry-compute").Spec.Hard["pods"]
		return q.String()
	}
	if pods("gold-a-dev") != "10" || pods("gold-b-dev") != "20" {
		t.Fatalf("a Tenant's item wins over the class's by name: %s, %s", pods("gold-a-dev"), pods("gold-b-dev"))
	}
	get(t, &corev1.ResourceQuota{}, "gold-b-dev", "tenantry-storage") // merged by name: the class's other item stays
	get(t, &corev1.LimitRange{}, "gold-a-dev", "tenantry-defaults")
	if ns := get(t, &corev1.Namespace{}, "", "gold-a-dev"); ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Fatalf("class default Pod Security: %v", ns.Labels)
	}
	if ns := get(t, &corev1.Namespace{}, "", "gold-b-dev"); ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("the Tenant's Pod Security wins: %v", ns.Labels)
	}

	// A class change reaches every member, writing only what it changes:
	// the inheriting Tenant's compute quota; the overriding Tenant's stays.
	waitSettled(t, time.Second)
	before := writes.snapshot()
	updateClass(t, "gold", func(c *tenantryv1alpha1.TenantClass) {
		c.Spec.Defaults.ResourceQuotas[0].Hard["pods"] = resource.MustParse("15")
	})
	waitRolledOut(t, "gold", 2)
	waitSettled(t, time.Second)
	delta := writes.since(before)
	objects, statuses, other := applies(delta)
	t.Logf("class change: %v", delta)
	if objects != 1 || delta["PATCH /api/v1/namespaces/gold-a-dev/resourcequotas/tenantry-compute"] != 1 || other != 0 {
		t.Fatalf("a class change writes exactly the objects it changes, wrote %v", delta)
	}
	if statuses < 2 { // each member's classGeneration, the class's rollout
		t.Fatalf("status writes %d, want the members' and the class's", statuses)
	}
	if pods("gold-a-dev") != "15" || pods("gold-b-dev") != "20" {
		t.Fatalf("after the change: %s, %s", pods("gold-a-dev"), pods("gold-b-dev"))
	}

	// A restart after the class change writes nothing: the marks and
	// fingerprints are those of the class's new generation.
	operator.stop()
	before = writes.snapshot()
	operator = startOperator(Config{ResyncPeriod: time.Second})
	time.Sleep(3 * time.Second)
	operator.stop()
	restartWrites := writes.since(before)
	operator = startOperator(Config{})
	if len(restartWrites) != 0 {
		t.Fatalf("a restart after a class change wrote %v", restartWrites)
	}

	// A default removed from the class is removed from its members.
	updateClass(t, "gold", func(c *tenantryv1alpha1.TenantClass) { c.Spec.Defaults.LimitRange = nil })
	eventuallyAbsent(t, &corev1.LimitRange{}, "gold-a-dev", "tenantry-defaults")
	eventuallyAbsent(t, &corev1.LimitRange{}, "gold-b-dev", "tenantry-defaults")
	waitRolledOut(t, "gold", 2)
}

func TestMissingClassAppliesNothingUntilItExists(t *testing.T) {
	tn := newTenant("classless", "classless-dev")
	tn.Spec.Class = "silver"
	createTenant(t, tn)
	got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClassNotFound)
	if msg := condition(got, tenantryv1alpha1.ConditionStalled).Message; msg != "TenantClass silver does not exist; nothing of this spec was applied or changed until it does" {
		t.Fatalf("message %q", msg)
	}
	ns := &corev1.Namespace{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: "classless-dev"}, ns); !apierrors.IsNotFound(err) {
		t.Fatalf("a namespace was made for a Tenant whose class is missing: %v", err)
	}
	// Creating the class un-stalls the Tenant without anyone touching it.
	createClass(t, goldClass("silver"))
	waitReady(t, tn.Name)
	get(t, &corev1.ResourceQuota{}, "classless-dev", "tenantry-compute")
}

func TestClassConstraints(t *testing.T) {
	class := goldClass("bounded")
	class.Spec.Constraints = &tenantryv1alpha1.TenantClassConstraints{
		MaxNamespaces:       ptr.To[int32](1),
		PodSecurityFloor:    tenantryv1alpha1.PodSecurityBaseline,
		AllowedClusterRoles: []string{"admin", "view"},
		MaxQuota:            corev1.ResourceList{"pods": resource.MustParse("50")},
	}
	createClass(t, class)
	tests := []struct {
		name   string
		mutate func(*tenantryv1alpha1.Tenant)
		want   string
	}{
		{"too many namespaces", func(tn *tenantryv1alpha1.Tenant) {
			tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: tn.Name + "-two"})
		}, "spec.namespaces: 2 namespaces, at most 1 allowed by constraints.maxNamespaces (TenantClass bounded)"},
		{"below the Pod Security floor", func(tn *tenantryv1alpha1.Tenant) {
			tn.Spec.Namespaces[0].PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityPrivileged}
		}, "spec.namespaces[" + "c-psa-one" + "].podSecurity: enforce privileged is below constraints.podSecurityFloor baseline (TenantClass bounded)"},
		{"a role the class does not allow", func(tn *tenantryv1alpha1.Tenant) { tn.Spec.OwnerClusterRole = "edit" },
			"spec.ownerClusterRole: ClusterRole edit is not in constraints.allowedClusterRoles (admin, view) (TenantClass bounded)"},
		{"a quota above the maximum", func(tn *tenantryv1alpha1.Tenant) {
			tn.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("100")}}}
		}, "spec.resourceQuotas[compute].hard[pods]: 100 is above constraints.maxQuota 50 (TenantClass bounded)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := []string{"c-ns", "c-psa", "c-role", "c-quota"}[i]
			tn := newTenant(name, name+"-one")
			tn.Spec.Class = "bounded"
			tt.mutate(tn)
			createTenant(t, tn)
			got := waitCondition(t, name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClassConstraintViolated)
			if msg := condition(got, tenantryv1alpha1.ConditionStalled).Message; msg != tt.want+"; nothing of this spec was applied or changed" {
				t.Fatalf("message %q\nwant    %q", msg, tt.want)
			}
			ns := &corev1.Namespace{}
			if err := k8s.Get(context.Background(), client.ObjectKey{Name: name + "-one"}, ns); !apierrors.IsNotFound(err) {
				t.Fatalf("a namespace was made for a Tenant crossing its class's constraints: %v", err)
			}
		})
	}
}

func TestClassDeletionWaitsForItsTenants(t *testing.T) {
	ctx := context.Background()
	createClass(t, goldClass("leaving"))
	tn := newTenant("leaver", "leaver-dev")
	tn.Spec.Class = "leaving"
	createTenant(t, tn)
	waitReady(t, tn.Name)
	waitRolledOut(t, "leaving", 1)
	if err := k8s.Delete(ctx, &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "leaving"}}); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	c := &tenantryv1alpha1.TenantClass{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "leaving"}, c)).To(Succeed())
		r := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReconciling)
		g.Expect(r).NotTo(BeNil())
		g.Expect(r.Reason).To(Equal(tenantryv1alpha1.ReasonDeleting))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	time.Sleep(time.Second) // the class must still be there, and its member unharmed
	g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "leaving"}, c)).To(Succeed(), "a class in use was removed under its Tenant")
	if !strings.Contains(strings.Join(c.Finalizers, ","), tenantryv1alpha1.ClassFinalizer) {
		t.Fatalf("finalizers %v", c.Finalizers)
	}
	waitReady(t, tn.Name)
	// Once no Tenant names it, it goes.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.Class = "" })
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: "leaving"}, c))
	}, eventually, 100*time.Millisecond).Should(BeTrue(), "the class was kept after its last Tenant left")
	waitReady(t, tn.Name)
}
