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
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// selfServiceTenant lists <name>-dev and lets its owners claim max namespaces.
func selfServiceTenant(name string, max int32) *tenantryv1alpha1.Tenant {
	tn := newTenant(name, name+"-dev")
	tn.Spec.SelfService = &tenantryv1alpha1.SelfService{MaxNamespaces: max}
	return tn
}

var aggregateOnce sync.Once

// ownerClient is a client as a user in group <tenant>-admins, the owners
// newTenant names. envtest runs no kube-controller-manager, so the
// NamespaceClaim rules are put into admin as its aggregation controller
// would (test/e2e runs the real one).
func ownerClient(t *testing.T, tenant string) client.Client {
	t.Helper()
	aggregateOnce.Do(func() {
		editor := &rbacv1.ClusterRole{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: "tenantry-namespaceclaim-editor-role"}, editor); err != nil {
			t.Fatalf("the claim editor role is installed by config/default: %v", err)
		}
		admin := &rbacv1.ClusterRole{}
		must(k8s.Get(context.Background(), client.ObjectKey{Name: "admin"}, admin))
		admin.Rules = append(admin.Rules, editor.Rules...)
		must(k8s.Update(context.Background(), admin))
	})
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: tenant + "-owner", Groups: []string{tenant + "-admins", "system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readyOwner creates the Tenant, waits until it is Ready and returns a
// client as its owner.
func readyOwner(t *testing.T, tn *tenantryv1alpha1.Tenant) client.Client {
	t.Helper()
	createTenant(t, tn)
	waitReady(t, tn.Name)
	return ownerClient(t, tn.Name)
}

func newClaim(namespace, name string) *tenantryv1alpha1.NamespaceClaim {
	return &tenantryv1alpha1.NamespaceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

// waitClaim waits until the claim's Ready condition has status and reason
// at its generation, and returns the claim.
func waitClaim(t *testing.T, namespace, name string, status metav1.ConditionStatus, reason string) *tenantryv1alpha1.NamespaceClaim {
	t.Helper()
	c := &tenantryv1alpha1.NamespaceClaim{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, c)).To(Succeed())
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		ready := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(status), "%s: %s", ready.Reason, ready.Message)
		g.Expect(ready.Reason).To(Equal(reason), ready.Message)
	}, eventually, 100*time.Millisecond).Should(Succeed())
	return c
}

func TestClaimBecomesATenantNamespace(t *testing.T) {
	tn := selfServiceTenant("ssa", 3)
	owner := readyOwner(t, tn)
	c := newClaim("ssa-dev", "ssa-feature")
	c.Spec.Labels = map[string]tenantryv1alpha1.LabelValue{"purpose": "feature"}
	if err := owner.Create(context.Background(), c); err != nil {
		t.Fatalf("the owner claims a namespace: %v", err)
	}
	got := waitClaim(t, "ssa-dev", "ssa-feature", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	if got.Status.Namespace != "ssa-feature" || meta.FindStatusCondition(got.Status.Conditions, tenantryv1alpha1.ConditionReconciling) != nil ||
		meta.FindStatusCondition(got.Status.Conditions, tenantryv1alpha1.ConditionStalled) != nil {
		t.Fatalf("claim status %+v", got.Status)
	}
	ns := get(t, &corev1.Namespace{}, "", "ssa-feature")
	if ns.Labels[tenantryv1alpha1.TenantLabel] != "ssa" || ns.Labels["purpose"] != "feature" ||
		ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" ||
		ns.Annotations[tenantryv1alpha1.ClaimAnnotation] != "ssa-dev/ssa-feature" {
		t.Fatalf("claimed namespace %v %v", ns.Labels, ns.Annotations)
	}
	get(t, &rbacv1.RoleBinding{}, "ssa-feature", "tenantry-owner")
	get(t, &networkingv1.NetworkPolicy{}, "ssa-feature", "tenantry-isolation")
	role := get(t, &rbacv1.ClusterRole{}, "", "tenantry:tenant:ssa")
	if !strings.Contains(fmt.Sprint(role.Rules), "ssa-feature") {
		t.Fatalf("the per-tenant ClusterRole names the claimed namespace: %v", role.Rules)
	}
	st := waitReady(t, tn.Name).Status
	found := false
	for _, n := range st.Namespaces {
		found = found || n == tenantryv1alpha1.NamespaceStatus{Name: "ssa-feature", Phase: tenantryv1alpha1.NamespaceActive, Claim: "ssa-dev/ssa-feature"}
	}
	for _, e := range st.Inventory {
		found = found && (e.Name != "ssa-feature" || e.Claim == "ssa-dev/ssa-feature" && e.Origin == tenantryv1alpha1.NamespaceCreated)
	}
	if !found || st.NamespaceCount != 2 {
		t.Fatalf("the Tenant's status lists the claimed namespace: %+v %+v", st.Namespaces, st.Inventory)
	}

	// A restart writes nothing: neither the Tenant nor the claim.
	waitSettled(t, time.Second)
	operator.stop()
	before := writes.snapshot()
	operator = startOperator(Config{ResyncPeriod: time.Second})
	time.Sleep(3 * time.Second)
	operator.stop()
	restartWrites := writes.since(before)
	operator = startOperator(Config{})
	if len(restartWrites) != 0 {
		t.Fatalf("a restart wrote %v", restartWrites)
	}

	// Deleting the claim releases its namespace (Retain): content stays.
	if err := owner.Delete(context.Background(), c); err != nil {
		t.Fatalf("the owner deletes the claim: %v", err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: "ssa-feature"}, ns)).To(Succeed())
		g.Expect(ns.DeletionTimestamp).To(BeNil())
		g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
		g.Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.ClaimAnnotation))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	eventuallyAbsent(t, &rbacv1.RoleBinding{}, "ssa-feature", "tenantry-owner")
	// The status follows the release's writes (the pass writes it last).
	NewWithT(t).Eventually(func(g Gomega) {
		st := waitReady(t, tn.Name).Status
		g.Expect(st.NamespaceCount).To(BeEquivalentTo(1), "released: %+v", st.Namespaces)
		g.Expect(st.Inventory).To(HaveLen(1), "released: %+v", st.Inventory)
	}, eventually, 100*time.Millisecond).Should(Succeed())
}

func TestClaimsTheAPIServerRefuses(t *testing.T) {
	tn := selfServiceTenant("ssb", 3)
	tn.Spec.SelfService.NamePrefix = "b-"
	createTenant(t, tn)
	other := selfServiceTenant("ssc", 3)
	createTenant(t, other)
	waitReady(t, tn.Name)
	waitReady(t, other.Name)
	createNamespace(t, "ssb-plain", nil)
	owner := ownerClient(t, tn.Name)
	tests := []struct {
		name   string
		c      client.Client
		claim  *tenantryv1alpha1.NamespaceClaim
		refuse string
	}{{
		name: "not a DNS label", c: owner, claim: newClaim("ssb-dev", "b-feature.x"),
		refuse: `NamespaceClaim.tenantry.io "b-feature.x" is invalid: <nil>: Invalid value: metadata.name: a NamespaceClaim is named after the namespace it asks for, so it must be a DNS label of at most 63 characters`,
	}, {
		name: "a system namespace", c: k8s, claim: newClaim("ssb-dev", "kube-system"),
		refuse: `NamespaceClaim.tenantry.io "kube-system" is invalid: <nil>: Invalid value: metadata.name: a system namespace (default, kube-system, kube-public, kube-node-lease) can never be claimed`,
	}, {
		name: "in a namespace of no tenant", c: k8s, claim: newClaim("ssb-plain", "b-x"),
		refuse: `namespaceclaims.tenantry.io "b-x" is forbidden: ValidatingAdmissionPolicy 'tenantry-namespace-claim-rules' with binding 'tenantry-namespace-claim-rules' denied request: NamespaceClaim ssb-plain/b-x: namespace ssb-plain is not a tenant namespace (no tenantry.io/tenant label); claim namespaces from a namespace of your tenant`,
	}, {
		name: "the wrong prefix (mirrored namePrefix)", c: owner, claim: newClaim("ssb-dev", "ssb-x"),
		refuse: `namespaceclaims.tenantry.io "ssb-x" is forbidden: ValidatingAdmissionPolicy 'tenantry-namespace-claim-rules' with binding 'tenantry-namespace-claim-rules' denied request: NamespaceClaim ssb-dev/ssb-x: the namespaces of tenant ssb are claimed with names starting with b-`,
	}, {
		name: "in another tenant's namespace", c: owner, claim: newClaim("ssc-dev", "ssc-x"),
		refuse: `namespaceclaims.tenantry.io is forbidden: User "ssb-owner" cannot create resource "namespaceclaims" in API group "tenantry.io" in the namespace "ssc-dev"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Create(context.Background(), tt.claim)
			if err == nil || err.Error() != tt.refuse {
				t.Fatalf("got %v\nwant %s", err, tt.refuse)
			}
		})
	}
}

func TestClaimRefusalsMakeNoNamespace(t *testing.T) {
	closed := newTenant("ssd", "ssd-dev") // no selfService
	createTenant(t, closed)
	open := selfServiceTenant("sse", 1)
	createTenant(t, open)
	waitReady(t, closed.Name)
	waitReady(t, open.Name)
	createNamespace(t, "sse-taken", map[string]string{"keep": "me"})
	ctx := context.Background()
	must(ownerClient(t, "ssd").Create(ctx, newClaim("ssd-dev", "ssd-x")))
	owner := ownerClient(t, "sse")
	must(owner.Create(ctx, newClaim("sse-dev", "sse-taken")))
	must(owner.Create(ctx, newClaim("sse-dev", "sse-one")))
	waitClaim(t, "sse-dev", "sse-one", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	must(owner.Create(ctx, newClaim("sse-dev", "sse-two")))
	for _, r := range []struct{ ns, name, reason, message string }{
		{"ssd-dev", "ssd-x", tenantryv1alpha1.ReasonSelfServiceDisabled, "Tenant ssd does not allow claiming namespaces (no spec.selfService)"},
		{"sse-dev", "sse-taken", tenantryv1alpha1.ReasonNamespaceExists, "namespace sse-taken exists; a claim only ever gets a namespace Tenantry creates for it"},
		{"sse-dev", "sse-two", tenantryv1alpha1.ReasonMaxNamespaces, "tenant sse has 1 claimed namespaces, at most 1 allowed by selfService.maxNamespaces"},
	} {
		c := waitClaim(t, r.ns, r.name, metav1.ConditionFalse, r.reason)
		stalled := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled)
		if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != r.reason || stalled.Message != r.message || c.Status.Namespace != "" {
			t.Fatalf("%s/%s: %+v", r.ns, r.name, c.Status)
		}
	}
	eventuallyAbsent(t, &corev1.Namespace{}, "", "ssd-x")
	eventuallyAbsent(t, &corev1.Namespace{}, "", "sse-two")
	if ns := get(t, &corev1.Namespace{}, "", "sse-taken"); len(ns.Labels) != 2 || ns.Labels["keep"] != "me" || len(ns.Annotations) != 0 || appliedByTenantry(ns) {
		t.Fatalf("an existing namespace is never touched: %v %v", ns.Labels, ns.Annotations)
	}
	// A refused claim does not make its Tenant less Ready.
	waitReady(t, closed.Name)
	waitReady(t, open.Name)
}

func TestConcurrentClaimsNeverExceedTheMaximum(t *testing.T) {
	tn := selfServiceTenant("ssf", 3)
	owner := readyOwner(t, tn)
	ctx := context.Background()
	stop := make(chan struct{})
	var most int
	var polls sync.WaitGroup
	polls.Add(1)
	go func() { // poll the claimed namespaces during the whole test
		defer polls.Done()
		for {
			var list corev1.NamespaceList
			if err := k8s.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: "ssf"}); err == nil {
				most = max(most, len(list.Items)-1)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := owner.Create(ctx, newClaim("ssf-dev", fmt.Sprintf("ssf-c%d", i))); err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	ready, refused := 0, 0
	NewWithT(t).Eventually(func(g Gomega) {
		ready, refused = 0, 0
		var list tenantryv1alpha1.NamespaceClaimList
		g.Expect(k8s.List(ctx, &list, client.InNamespace("ssf-dev"))).To(Succeed())
		for _, c := range list.Items {
			switch r := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReady); {
			case r == nil:
			case r.Status == metav1.ConditionTrue:
				ready++
			case r.Reason == tenantryv1alpha1.ReasonMaxNamespaces:
				refused++
			}
		}
		g.Expect([]int{ready, refused}).To(Equal([]int{3, 7}))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	waitSettled(t, time.Second)
	close(stop)
	polls.Wait()
	if most != 3 {
		t.Fatalf("at most %d claimed namespaces were seen at once, want exactly 3", most)
	}
}

func TestClaimDeletionPolicies(t *testing.T) {
	tn := selfServiceTenant("ssg", 3)
	tn.Spec.SelfService.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	owner := readyOwner(t, tn)
	ctx := context.Background()
	must(owner.Create(ctx, newClaim("ssg-dev", "ssg-gone")))
	waitClaim(t, "ssg-dev", "ssg-gone", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)

	// Delete: deleting the claim deletes its namespace.
	must(owner.Delete(ctx, newClaim("ssg-dev", "ssg-gone")))
	NewWithT(t).Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		err := k8s.Get(ctx, client.ObjectKey{Name: "ssg-gone"}, ns)
		g.Expect(apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil).To(BeTrue())
	}, eventually, 100*time.Millisecond).Should(Succeed())

}

// TestHostNamespaceDeletion: the namespace a claim is in is deleted, and
// the claim with it (the namespace controller does that; envtest has none,
// so the claim is deleted by hand, and deleted namespaces stay Terminating).
// The claimed namespace follows selfService.deletionPolicy, as when the
// claim alone is deleted: released with its content under Retain (the
// default), deleted under Delete.
func TestHostNamespaceDeletion(t *testing.T) {
	for _, tt := range []struct {
		name, tenant string
		policy       tenantryv1alpha1.DeletionPolicy
	}{{"Retain by default", "ssi", ""}, {"Delete", "ssj", tenantryv1alpha1.DeletionPolicyDelete}} {
		t.Run(tt.name, func(t *testing.T) {
			tn := selfServiceTenant(tt.tenant, 3)
			tn.Spec.SelfService.DeletionPolicy = tt.policy
			owner := readyOwner(t, tn)
			ctx := context.Background()
			host, nested := tt.tenant+"-host", tt.tenant+"-nested"
			must(owner.Create(ctx, newClaim(tt.tenant+"-dev", host)))
			waitClaim(t, tt.tenant+"-dev", host, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
			must(owner.Create(ctx, newClaim(host, nested)))
			waitClaim(t, host, nested, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
			must(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nested, Name: "data"}, Data: map[string]string{"k": "v"}}))

			must(k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: host}}))
			must(k8s.Delete(ctx, newClaim(host, nested)))
			if tt.policy == tenantryv1alpha1.DeletionPolicyDelete {
				NewWithT(t).Eventually(func(g Gomega) {
					ns := &corev1.Namespace{}
					err := k8s.Get(ctx, client.ObjectKey{Name: nested}, ns)
					g.Expect(apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil).To(BeTrue(), "%v", err)
				}, eventually, 100*time.Millisecond).Should(Succeed())
				return
			}
			NewWithT(t).Eventually(func(g Gomega) {
				ns := &corev1.Namespace{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Name: nested}, ns)).To(Succeed())
				g.Expect(ns.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
				g.Expect(ns.Annotations).NotTo(HaveKey(tenantryv1alpha1.ClaimAnnotation))
			}, eventually, 100*time.Millisecond).Should(Succeed())
			time.Sleep(time.Second)
			if ns := get(t, &corev1.Namespace{}, "", nested); ns.DeletionTimestamp != nil {
				t.Fatal("under Retain, deleting a namespace cascaded to the namespace of a claim in it")
			}
			if cm := get(t, &corev1.ConfigMap{}, nested, "data"); cm.Data["k"] != "v" {
				t.Fatalf("the released namespace keeps its content: %v", cm.Data)
			}
		})
	}
}

// TestFenceKeepsClaimedNamespacesTheirs: even the operator's own token
// cannot mark an existing namespace as a claim's, nor move a namespace to
// another tenant in one write (two Tenants racing for one new namespace).
func TestFenceKeepsClaimedNamespacesTheirs(t *testing.T) {
	tn := selfServiceTenant("ssh", 3)
	createTenant(t, tn)
	waitReady(t, tn.Name)
	createNamespace(t, "ssh-plain", nil)
	ctx := context.Background()
	must(ownerClient(t, tn.Name).Create(ctx, newClaim("ssh-dev", "ssh-x")))
	waitClaim(t, "ssh-dev", "ssh-x", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	op, err := client.New(operatorConfig(), client.Options{Scheme: scheme})
	must(err)
	fence := `is forbidden: ValidatingAdmissionPolicy 'tenantry-operator-fence' with binding 'tenantry-operator-fence' denied request: Namespace `
	for _, tt := range []struct{ ns, patch, want string }{
		{"ssh-plain", `{"metadata":{"annotations":{"tenantry.io/claim":"ssh-dev/ssh-plain"}}}`,
			`namespaces "ssh-plain" ` + fence + `ssh-plain: the Tenantry operator's ServiceAccount may not update it: a NamespaceClaim (annotation tenantry.io/claim) only ever gets a namespace Tenantry creates for it, never an existing one`},
		{"ssh-x", `{"metadata":{"annotations":{"tenantry.io/claim":"ssh-dev/other"}}}`,
			`namespaces "ssh-x" ` + fence + `ssh-x: the Tenantry operator's ServiceAccount may not update it: a NamespaceClaim (annotation tenantry.io/claim) only ever gets a namespace Tenantry creates for it, never an existing one`},
		{"ssh-x", `{"metadata":{"labels":{"tenantry.io/tenant":"ssa"}}}`,
			`namespaces "ssh-x" ` + fence + `ssh-x: the Tenantry operator's ServiceAccount may not update it: it is a namespace of tenant ssh; a namespace never moves to another tenant without being released first`},
	} {
		err := op.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tt.ns}}, client.RawPatch(types.MergePatchType, []byte(tt.patch)))
		if err == nil || err.Error() != tt.want {
			t.Errorf("patch %s %s:\ngot  %v\nwant %s", tt.ns, tt.patch, err, tt.want)
		}
	}
}
