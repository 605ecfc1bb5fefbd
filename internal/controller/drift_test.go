package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

const intruder = "intruder"

// driftTarget is one managed object and a change an admin makes to it.
type driftTarget struct {
	kind      string
	namespace string
	name      string
	newObj    func() client.Object
	patch     string // merge patch that modifies one of Tenantry's fields
	// check tells whether the live object is as Tenantry wants it.
	check func(obj client.Object) bool
}

func driftTargets(tenant string) []driftTarget {
	dev := tenant + "-dev"
	return []driftTarget{{
		kind: kinds.Namespace, name: dev, newObj: func() client.Object { return &corev1.Namespace{} },
		patch: `{"metadata":{"labels":{"env":"hacked"}}}`,
		check: func(o client.Object) bool { return o.GetLabels()["env"] == "dev" },
	}, {
		kind: kinds.ResourceQuota, namespace: dev, name: "tenantry-compute", newObj: func() client.Object { return &corev1.ResourceQuota{} },
		patch: `{"spec":{"hard":{"pods":"999"}}}`,
		check: func(o client.Object) bool {
			q := o.(*corev1.ResourceQuota).Spec.Hard["pods"]
			return q.String() == "10"
		},
	}, {
		kind: kinds.LimitRange, namespace: dev, name: "tenantry-defaults", newObj: func() client.Object { return &corev1.LimitRange{} },
		patch: `{"spec":{"limits":[{"type":"Pod","max":{"cpu":"64"}}]}}`,
		check: func(o client.Object) bool {
			return o.(*corev1.LimitRange).Spec.Limits[0].Type == corev1.LimitTypeContainer
		},
	}, {
		kind: kinds.RoleBinding, namespace: dev, name: "tenantry-owner", newObj: func() client.Object { return &rbacv1.RoleBinding{} },
		patch: `{"subjects":[{"kind":"User","name":"mallory","apiGroup":"rbac.authorization.k8s.io"}]}`,
		check: func(o client.Object) bool { return o.(*rbacv1.RoleBinding).Subjects[0].Name == tenant+"-admins" },
	}, {
		kind: kinds.NetworkPolicy, namespace: dev, name: "tenantry-isolation", newObj: func() client.Object { return &networkingv1.NetworkPolicy{} },
		patch: `{"spec":{"ingress":[{}]}}`,
		check: func(o client.Object) bool { return len(o.(*networkingv1.NetworkPolicy).Spec.Ingress[0].From) > 0 },
	}, {
		kind: kinds.ClusterRole, name: "tenantry:tenant:" + tenant, newObj: func() client.Object { return &rbacv1.ClusterRole{} },
		patch: `{"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`,
		check: func(o client.Object) bool { return o.(*rbacv1.ClusterRole).Rules[0].Resources[0] == "tenants" },
	}, {
		kind: kinds.ClusterRoleBinding, name: "tenantry:tenant:" + tenant, newObj: func() client.Object { return &rbacv1.ClusterRoleBinding{} },
		patch: `{"subjects":[{"kind":"User","name":"mallory","apiGroup":"rbac.authorization.k8s.io"}]}`,
		check: func(o client.Object) bool { return o.(*rbacv1.ClusterRoleBinding).Subjects[0].Name == tenant+"-admins" },
	}}
}

func (d driftTarget) key() string { return kinds.Key(d.kind, d.namespace, d.name) }

func (d driftTarget) get() (client.Object, error) {
	obj := d.newObj()
	return obj, k8s.Get(context.Background(), client.ObjectKey{Namespace: d.namespace, Name: d.name}, obj)
}

// act makes one kind of drift as an admin (system:masters: the protection
// policy lets admins through, and drift correction covers what they do).
func (d driftTarget) act(t *testing.T, action string) {
	t.Helper()
	ctx := context.Background()
	obj := d.newObj()
	obj.SetNamespace(d.namespace)
	obj.SetName(d.name)
	var err error
	switch action {
	case "modify":
		err = k8s.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(d.patch)), client.FieldOwner(intruder))
	case "delete":
		err = k8s.Delete(ctx, obj)
	case "relabel":
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, tenantryv1alpha1.TenantLabel)
		err = k8s.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)), client.FieldOwner(intruder))
	}
	if err != nil {
		t.Fatalf("%s %s: %v", action, d.key(), err)
	}
}

func (d driftTarget) waitRestored(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		obj, err := d.get()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(obj.GetLabels()[tenantryv1alpha1.TenantLabel]).NotTo(BeEmpty())
		g.Expect(d.check(obj)).To(BeTrue(), "%s not restored", d.key())
	}, eventually, 20*time.Millisecond).Should(Succeed())
	return time.Since(start)
}

// driftEvents returns the notes of the Events about a Tenant with reason.
func driftEvents(t *testing.T, tenant, reason string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "Tenant" && e.Regarding.Name == tenant && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

func TestDriftIsCorrectedAndReported(t *testing.T) {
	tn := fullTenant("drifty")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	var corrections int64
	for _, d := range driftTargets(tn.Name) {
		for _, action := range []string{"modify", "delete", "relabel"} {
			if d.kind == kinds.Namespace && action == "delete" {
				continue // namespace deletion is final: tested end to end with the namespace controller
			}
			t.Run(d.kind+"/"+action, func(t *testing.T) {
				d.act(t, action)
				took := d.waitRestored(t)
				corrections++
				wantAction, wantManager := tenantryv1alpha1.DriftActionCorrected, ""
				switch action {
				case "modify":
					wantManager = intruder
				case "delete":
					wantAction = tenantryv1alpha1.DriftActionRecreated
				}
				g := NewWithT(t)
				g.Eventually(func(g Gomega) {
					got := getTenant(g, tn.Name)
					g.Expect(got.Status.DriftCorrections).To(Equal(corrections))
					g.Expect(got.Status.Drift).NotTo(BeEmpty())
					rec := got.Status.Drift[0]
					g.Expect(rec.Kind).To(Equal(d.kind))
					g.Expect(rec.Namespace).To(Equal(d.namespace))
					g.Expect(rec.Name).To(Equal(d.name))
					g.Expect(rec.Action).To(Equal(wantAction))
					g.Expect(rec.Manager).To(Equal(wantManager))
					c := condition(got, tenantryv1alpha1.ConditionDrifted)
					g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
					g.Expect(c.Reason).To(Equal(tenantryv1alpha1.ReasonDriftCorrected))
					g.Expect(c.Message).To(ContainSubstring(d.key()))
					g.Expect(condition(got, tenantryv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
					notes := driftEvents(t, tn.Name, tenantryv1alpha1.EventDriftCorrected)
					g.Expect(notes).To(ContainElement(And(HavePrefix(d.key()+" "), ContainSubstring(wantManager))))
				}, eventually).Should(Succeed())
				t.Logf("%s %s restored after %s", action, d.key(), took.Round(time.Millisecond))
			})
		}
	}
	families := metricValue(t, "tenantry_drift_findings_total", map[string]string{"tenant": tn.Name, "kind": "ResourceQuota", "action": "Corrected"})
	if families < 2 {
		t.Fatalf("tenantry_drift_findings_total{ResourceQuota,Corrected} = %v, want >= 2", families)
	}
}

func TestDriftReportModeThenCorrect(t *testing.T) {
	tn := fullTenant("reported")
	tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport
	createTenant(t, tn)
	waitReady(t, tn.Name)
	targets := driftTargets(tn.Name)
	quota, policy := targets[1], targets[4]
	quota.act(t, "modify")
	policy.act(t, "delete")

	got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionDrifted, metav1.ConditionTrue, tenantryv1alpha1.ReasonDriftDetected)
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		got = getTenant(g, tn.Name)
		g.Expect(condition(got, tenantryv1alpha1.ConditionDrifted).Message).To(Equal(
			"Drifted: NetworkPolicy/reported-dev/tenantry-isolation; ResourceQuota/reported-dev/tenantry-compute (spec.hard.pods) by intruder"))
		g.Expect(condition(got, tenantryv1alpha1.ConditionReady).Reason).To(Equal(tenantryv1alpha1.ReasonDriftReported))
		g.Expect(got.Status.Drift).To(HaveLen(2))
	}, eventually).Should(Succeed())
	for _, rec := range got.Status.Drift {
		if rec.Action != tenantryv1alpha1.DriftActionReported {
			t.Fatalf("Report mode records %+v", rec)
		}
	}
	if got.Status.DriftCorrections != 0 {
		t.Fatal("nothing may be corrected in Report mode")
	}
	// Left alone, and reported once however often it is reconciled.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Annotations = map[string]string{"poke": "1"} })
	waitSettled(t, time.Second)
	if obj, err := quota.get(); err != nil || quota.check(obj) {
		t.Fatalf("Report mode must not restore the quota (err %v)", err)
	}
	if _, err := policy.get(); err == nil {
		t.Fatal("Report mode must not recreate the policy")
	}
	if got := getTenant(NewWithT(t), tn.Name); len(got.Status.Drift) != 2 {
		t.Fatalf("a standing finding was recorded again: %+v", got.Status.Drift)
	}
	g.Eventually(func() []string { return driftEvents(t, tn.Name, tenantryv1alpha1.EventDriftDetected) }, eventually).
		Should(ContainElement(ContainSubstring("ResourceQuota/reported-dev/tenantry-compute was modified (spec.hard.pods) by intruder; left as is")))

	// Back to Correct: repaired at once.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyCorrect })
	quota.waitRestored(t)
	policy.waitRestored(t)
	got = waitReady(t, tn.Name)
	if c := condition(got, tenantryv1alpha1.ConditionDrifted); c.Status != metav1.ConditionFalse {
		t.Fatalf("Drifted after switching to Correct = %+v", c)
	}
}

func TestDriftStormIsRateLimited(t *testing.T) {
	tn := fullTenant("storm")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	quota := driftTargets(tn.Name)[1]
	path := "/api/v1/namespaces/storm-dev/resourcequotas/tenantry-compute"

	before := writes.snapshot()
	// A script rewrites the quota every 100 ms for 4 s.
	for i := range 40 {
		quota.patch = fmt.Sprintf(`{"spec":{"hard":{"pods":"%d"}}}`, 100+i)
		quota.act(t, "modify")
		time.Sleep(100 * time.Millisecond)
	}
	stormWrites := writes.since(before)["PATCH "+path]
	events := len(driftEvents(t, tn.Name, tenantryv1alpha1.EventDriftCorrected))
	t.Logf("40 rewrites in 4 s: %d corrections, %d events", stormWrites, events)
	// Burst 5, then one per 10 s per object.
	if stormWrites > 7 || events > 7 {
		t.Fatalf("storm not bounded: %d corrections, %d events for 40 rewrites", stormWrites, events)
	}
	if stormWrites < 3 {
		t.Fatalf("only %d corrections: the first rewrites should have been corrected at once", stormWrites)
	}
	// Once the storm stops, the correction comes when the next token is due.
	g := NewWithT(t)
	g.Eventually(func() bool { obj, err := quota.get(); return err == nil && quota.check(obj) }, 15*time.Second, 100*time.Millisecond).
		Should(BeTrue(), "the quota was not restored after the storm")
}

// metricValue sums a metric of this process's registry over series matching labels.
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metricsGather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
