package controller

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// fullTenant has every kind of child: 2 namespaces × (quota, limit range,
// owner + extra binding, isolation + extra policy) + cluster RBAC = 16
// objects, and every workload guardrail and egress preset on its namespaces.
func fullTenant(name string) *tenantryv1alpha1.Tenant {
	tn := newTenant(name, name+"-dev", name+"-prod")
	tn.Spec.Namespaces[0].Labels = map[string]tenantryv1alpha1.LabelValue{"env": "dev"}
	tn.Spec.Namespaces[0].PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityBaseline}
	tn.Spec.NamespaceMetadata = &tenantryv1alpha1.NamespaceMetadata{Labels: map[string]tenantryv1alpha1.LabelValue{"cost-center": "42"}}
	tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "auditors", ClusterRole: "view",
		Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "auditors"}}}}
	tn.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
		Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("0.5"), "pods": resource.MustParse("10")}}}
	tn.Spec.LimitRange = &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": resource.MustParse("2")}}}}
	tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{{
		Name: "deny-egress", Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}},
		Egress: tenantryv1alpha1.NetworkEgressTenant,
		AllowEgressTo: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": "egress-proxy"}}}}}
	tn.Spec.Workloads = guardrails(name)
	return tn
}

// applies counts server-side applies (PATCH) in a write delta, by kind of
// path: status writes separately.
func applies(delta map[string]int) (objects, status, other int) {
	for k, v := range delta {
		switch {
		case strings.HasPrefix(k, "PATCH ") && strings.HasSuffix(k, "/status"):
			status += v
		case strings.HasPrefix(k, "PATCH ") && strings.Contains(k, "/tenants/"):
			other += v // the finalizer
		case strings.HasPrefix(k, "PATCH "):
			objects += v
		default:
			other += v
		}
	}
	return objects, status, other
}

func TestCreateContentAndWriteBudget(t *testing.T) {
	waitSettled(t, 500*time.Millisecond)
	before, readsBefore := writes.snapshot(), writes.readSnapshot()
	tn := fullTenant("budget")
	createTenant(t, tn)
	got := waitReady(t, tn.Name)
	waitSettled(t, time.Second)
	delta := writes.since(before)
	objects, status, other := applies(delta)
	t.Logf("create: %d applies, %d status writes, %d other writes (%v)", objects, status, other, delta)
	// Its hostnames are granted: one write of the grant table.
	table := delta["PUT /api/v1/namespaces/"+operatorNamespace+"/configmaps/"+kinds.GrantTableName]
	if objects != 16 || status < 1 || status > 2 || other != 2 || table != 1 {
		t.Fatalf("create budget: want 16 applies, 1-2 status writes, 1 finalizer patch, 1 grant table update; got %v", delta)
	}
	// A new namespace is looked up past the cache once (the cache cannot
	// prove it does not exist unlabelled); nothing else is read.
	reads := writes.readsSince(readsBefore)
	t.Logf("create: reads past the cache %v", reads)
	if want := map[string]int{"/api/v1/namespaces/budget-dev": 1, "/api/v1/namespaces/budget-prod": 1}; !maps.Equal(reads, want) {
		t.Fatalf("create reads: want %v, got %v", want, reads)
	}
	if got.Status.ManagedObjects != 16 || got.Status.NamespaceCount != 2 || len(got.Status.Namespaces) != 2 {
		t.Fatalf("status = %+v", got.Status)
	}
	if c := condition(got, tenantryv1alpha1.ConditionDrifted); c.Reason != tenantryv1alpha1.ReasonNoDrift {
		t.Fatalf("Drifted = %+v", c)
	}
	for _, typ := range []string{tenantryv1alpha1.ConditionReconciling, tenantryv1alpha1.ConditionStalled} {
		if meta := condition(got, typ); meta.Status != "" {
			t.Fatalf("%s must be absent when False, got %+v", typ, meta)
		}
	}

	// Exact content of what was made.
	ns := get(t, &corev1.Namespace{}, "", "budget-dev")
	for k, v := range map[string]string{
		tenantryv1alpha1.TenantLabel: "budget", tenantryv1alpha1.ManagedByLabel: "tenantry",
		"env": "dev", "cost-center": "42",
		render.PSAEnforce: "baseline", render.PSAAudit: "baseline", render.PSAWarn: "baseline", render.PSAEnforceVersion: "latest",
	} {
		if ns.Labels[k] != v {
			t.Errorf("namespace label %s = %q, want %q", k, ns.Labels[k], v)
		}
	}
	if len(ns.OwnerReferences) != 0 {
		t.Error("namespaces never get an ownerReference")
	}
	if prod := get(t, &corev1.Namespace{}, "", "budget-prod"); prod.Labels[render.PSAEnforce] != "restricted" {
		t.Errorf("default enforce level = %q", prod.Labels[render.PSAEnforce])
	}
	rq := get(t, &corev1.ResourceQuota{}, "budget-dev", "tenantry-compute")
	if q := rq.Spec.Hard["requests.cpu"]; q.String() != "500m" || len(rq.OwnerReferences) != 1 || rq.OwnerReferences[0].UID != got.UID {
		t.Errorf("quota = %+v", rq)
	}
	lr := get(t, &corev1.LimitRange{}, "budget-prod", "tenantry-defaults")
	if d := lr.Spec.Limits[0].Default["cpu"]; d.String() != "2" {
		t.Errorf("limit range = %+v", lr.Spec)
	}
	owner := get(t, &rbacv1.RoleBinding{}, "budget-dev", "tenantry-owner")
	if owner.RoleRef.Name != "admin" || owner.Subjects[0].Name != "budget-admins" {
		t.Errorf("owner binding = %+v", owner)
	}
	if rb := get(t, &rbacv1.RoleBinding{}, "budget-prod", "tenantry-auditors"); rb.RoleRef.Name != "view" {
		t.Errorf("auditors binding = %+v", rb)
	}
	iso := get(t, &networkingv1.NetworkPolicy{}, "budget-dev", "tenantry-isolation")
	if sel := iso.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels[tenantryv1alpha1.TenantLabel]; sel != "budget" {
		t.Errorf("isolation policy = %+v", iso.Spec)
	}
	get(t, &networkingv1.NetworkPolicy{}, "budget-prod", "tenantry-deny-egress")
	cr := get(t, &rbacv1.ClusterRole{}, "", "tenantry:tenant:budget")
	if cr.Rules[1].ResourceNames[0] != "budget-dev" || cr.Rules[1].ResourceNames[1] != "budget-prod" {
		t.Errorf("cluster role = %+v", cr.Rules)
	}
	get(t, &rbacv1.ClusterRoleBinding{}, "", "tenantry:tenant:budget")

	// A re-reconcile with nothing changed writes nothing.
	before = writes.snapshot()
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		if tn.Annotations == nil {
			tn.Annotations = map[string]string{}
		}
		tn.Annotations["example.com/poke"] = "1"
	})
	time.Sleep(300 * time.Millisecond)
	waitSettled(t, time.Second)
	if delta := writes.since(before); len(delta) != 0 {
		t.Fatalf("a no-op reconcile wrote: %v", delta)
	}

	// Changing one quota: one apply per namespace and one status write.
	before = writes.snapshot()
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.ResourceQuotas[0].Hard["pods"] = resource.MustParse("20")
	})
	waitReady(t, tn.Name)
	waitSettled(t, time.Second)
	delta = writes.since(before)
	objects, status, other = applies(delta)
	t.Logf("quota change: %d applies, %d status writes (%v)", objects, status, delta)
	if objects != 2 || status != 1 || other != 0 {
		t.Fatalf("quota change budget: want 2 applies and 1 status write, got %v", delta)
	}
	if q := get(t, &corev1.ResourceQuota{}, "budget-prod", "tenantry-compute").Spec.Hard["pods"]; q.String() != "20" {
		t.Fatalf("quota not updated: %s", q.String())
	}
}

func TestRestartAndResyncWriteNothing(t *testing.T) {
	createTenant(t, fullTenant("restart"))
	waitReady(t, "restart")
	waitSettled(t, time.Second)

	operator.stop()
	before, readsBefore := writes.snapshot(), writes.readSnapshot()
	reconcilesBefore, _ := controllerActivity(t)
	operator = startOperator(Config{ResyncPeriod: time.Second})
	// Every Tenant is reconciled at start and again on each (jittered, ~1 s) resync.
	time.Sleep(4 * time.Second)
	reconcilesAfter, _ := controllerActivity(t)
	// It found every object in sync by its fingerprint and remembers each
	// version, so its later passes do not compute them again.
	for _, k := range kinds.All() {
		objs, err := cache.TenantObjects(context.Background(), operator.reconciler.informers, k.New(), "restart")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if !operator.reconciler.verified.Known("restart", kinds.KeyOf(o), o.GetResourceVersion()) {
				t.Errorf("%s at version %s: verified on restart but not remembered", kinds.KeyOf(o), o.GetResourceVersion())
			}
		}
	}
	operator.stop()
	delta, reads := writes.since(before), writes.readsSince(readsBefore)
	operator = startOperator(Config{})
	t.Logf("restart + resyncs: %.0f reconciles, writes %v, reads past the cache %v", reconcilesAfter-reconcilesBefore, delta, reads)
	if reconcilesAfter-reconcilesBefore < 4 {
		t.Fatalf("the restarted operator barely reconciled (%v): the test proves nothing", reconcilesAfter-reconcilesBefore)
	}
	if len(delta) != 0 {
		t.Fatalf("restart and resync with nothing changed must write nothing, wrote %v", delta)
	}
	// The cache keeps fingerprints, not content: every untouched object must
	// match its desired fingerprint as the real API server stores it, or each
	// restart would read every object again.
	if len(reads) != 0 {
		t.Fatalf("restart and resync with nothing changed must read nothing past the cache, read %v", reads)
	}
}

func TestRemovalRetainsNamespaceAndContent(t *testing.T) {
	ctx := context.Background()
	tn := fullTenant("retain")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	// Something the tenant stored.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "retain-prod", Name: "data"}, Data: map[string]string{"k": "v"}}
	if err := k8s.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.Namespaces = tn.Spec.Namespaces[:1] })
	got := waitReady(t, tn.Name)
	if got.Status.ManagedObjects != 1+6+2 {
		t.Fatalf("managed objects after removal = %d", got.Status.ManagedObjects)
	}
	for _, obj := range []struct {
		o    client.Object
		name string
	}{{&corev1.ResourceQuota{}, "tenantry-compute"}, {&corev1.LimitRange{}, "tenantry-defaults"},
		{&rbacv1.RoleBinding{}, "tenantry-owner"}, {&rbacv1.RoleBinding{}, "tenantry-auditors"},
		{&networkingv1.NetworkPolicy{}, "tenantry-isolation"}, {&networkingv1.NetworkPolicy{}, "tenantry-deny-egress"}} {
		eventuallyAbsent(t, obj.o, "retain-prod", obj.name)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "retain-prod"}, ns)).To(Succeed())
		g.Expect(ns.DeletionTimestamp).To(BeNil())
		for k := range ns.Labels {
			g.Expect(k).NotTo(Or(HavePrefix("tenantry.io/"), HavePrefix("pod-security.kubernetes.io/"), Equal(tenantryv1alpha1.ManagedByLabel)), "released namespace keeps Tenantry's mark %s", k)
		}
	}, eventually).Should(Succeed())
	get(t, &corev1.ConfigMap{}, "retain-prod", "data")
	if cr := get(t, &rbacv1.ClusterRole{}, "", "tenantry:tenant:retain"); len(cr.Rules[1].ResourceNames) != 1 {
		t.Fatalf("owners keep get on a released namespace: %v", cr.Rules)
	}

	// Deleting the Tenant (Retain) releases the remaining namespace too.
	deleteTenant(t, tn.Name)
	ns := get(t, &corev1.Namespace{}, "", "retain-dev")
	if _, ok := ns.Labels[tenantryv1alpha1.TenantLabel]; ok || ns.DeletionTimestamp != nil {
		t.Fatalf("Retain: the namespace must stay, released: %+v", ns.ObjectMeta)
	}
	eventuallyAbsent(t, &rbacv1.ClusterRole{}, "", "tenantry:tenant:retain")
	eventuallyAbsent(t, &corev1.ResourceQuota{}, "retain-dev", "tenantry-compute")
}

func TestConflictsAndAdoption(t *testing.T) {
	createNamespace(t, "theirs", map[string]string{tenantryv1alpha1.TenantLabel: "someone-else"})
	createNamespace(t, "unowned", map[string]string{"keep": "me"})
	tn := newTenant("conflicted", "conflicted-ok", "theirs", "unowned")
	tn.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "q", Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}}
	createTenant(t, tn)

	got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonNamespaceConflict)
	wantMsg := "Namespace conflict: theirs (namespace belongs to tenant someone-else), unowned (namespace exists and is not managed by Tenantry; set adoptionPolicy: IfUnowned to adopt it)"
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != wantMsg {
		t.Fatalf("Stalled message:\n got %q\nwant %q", c.Message, wantMsg)
	}
	if c := condition(got, tenantryv1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != tenantryv1alpha1.ReasonNamespaceConflict {
		t.Fatalf("Ready = %+v", c)
	}
	phases := map[string]tenantryv1alpha1.NamespacePhase{}
	for _, ns := range got.Status.Namespaces {
		phases[ns.Name] = ns.Phase
	}
	if phases["conflicted-ok"] != tenantryv1alpha1.NamespaceActive || phases["theirs"] != tenantryv1alpha1.NamespaceConflict || phases["unowned"] != tenantryv1alpha1.NamespaceConflict {
		t.Fatalf("phases = %v", phases)
	}
	// The good namespace is fully reconciled; the others are untouched.
	get(t, &corev1.ResourceQuota{}, "conflicted-ok", "tenantry-q")
	eventuallyAbsent(t, &corev1.ResourceQuota{}, "theirs", "tenantry-q")
	eventuallyAbsent(t, &corev1.ResourceQuota{}, "unowned", "tenantry-q")
	if ns := get(t, &corev1.Namespace{}, "", "theirs"); ns.Labels[tenantryv1alpha1.TenantLabel] != "someone-else" || appliedByTenantry(ns) {
		t.Fatalf("another tenant's namespace was touched: %+v", ns.ObjectMeta)
	}
	if ns := get(t, &corev1.Namespace{}, "", "unowned"); len(ns.Labels) != 2 || appliedByTenantry(ns) {
		t.Fatalf("an unowned namespace was touched without IfUnowned: %v", ns.Labels)
	}
	if cr := get(t, &rbacv1.ClusterRole{}, "", "tenantry:tenant:conflicted"); len(cr.Rules[1].ResourceNames) != 1 || cr.Rules[1].ResourceNames[0] != "conflicted-ok" {
		t.Fatalf("owners must get only their own namespaces: %v", cr.Rules)
	}

	// IfUnowned adopts the unlabelled one; another tenant's stays out of reach.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.AdoptionPolicy = tenantryv1alpha1.AdoptionPolicyIfUnowned })
	got = waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonNamespaceConflict)
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != "Namespace conflict: theirs (namespace belongs to tenant someone-else)" {
		t.Fatalf("after adoption, Stalled message = %q", c.Message)
	}
	if ns := get(t, &corev1.Namespace{}, "", "unowned"); ns.Labels[tenantryv1alpha1.TenantLabel] != "conflicted" || ns.Labels["keep"] != "me" {
		t.Fatalf("adopted namespace labels = %v", ns.Labels)
	}
	get(t, &corev1.ResourceQuota{}, "unowned", "tenantry-q")
	if ns := get(t, &corev1.Namespace{}, "", "theirs"); ns.Labels[tenantryv1alpha1.TenantLabel] != "someone-else" {
		t.Fatal("another tenant's namespace is never taken over, whatever the policy")
	}
}

func TestForbiddenClusterRoleStallsAndBindsNothing(t *testing.T) {
	tn := newTenant("escalate", "escalate-ns")
	tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "root", ClusterRole: "cluster-admin",
		Subjects: []tenantryv1alpha1.Subject{{Kind: "User", Name: "mallory"}}}}
	createTenant(t, tn)
	got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClusterRoleNotAllowed)
	want := "ClusterRole cluster-admin not allowed: this operator binds only admin, edit, view (--allowed-cluster-roles); no role binding was created or changed"
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != want {
		t.Fatalf("Stalled message = %q", c.Message)
	}
	var rbs rbacv1.RoleBindingList
	if err := k8s.List(context.Background(), &rbs, client.InNamespace("escalate-ns")); err != nil {
		t.Fatal(err)
	}
	if len(rbs.Items) != 0 {
		t.Fatalf("no binding may be created, found %d", len(rbs.Items))
	}
	get(t, &networkingv1.NetworkPolicy{}, "escalate-ns", "tenantry-isolation")

	// Fixing the spec un-stalls it.
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) { tn.Spec.RoleBindings[0].ClusterRole = "view" })
	got = waitReady(t, tn.Name)
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Status != "" {
		t.Fatalf("Stalled must be gone: %+v", c)
	}
	get(t, &rbacv1.RoleBinding{}, "escalate-ns", "tenantry-root")
}
