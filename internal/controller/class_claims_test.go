package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestClaimsStopAtTheClassBound: the owner asks for many namespaces at once
// under a generous selfService; the class's maxNamespaces (spec namespaces
// plus claimed ones) is what stops them, exactly, with no namespace made
// for a refused claim.
func TestClaimsStopAtTheClassBound(t *testing.T) {
	class := goldClass("capped")
	class.Spec.Constraints = &tenantryv1alpha1.TenantClassConstraints{MaxNamespaces: ptr.To[int32](3)}
	createClass(t, class)
	tn := selfServiceTenant("ccap", 128)
	tn.Spec.Class = "capped"
	createTenant(t, tn)
	waitReady(t, tn.Name)
	owner := ownerClient(t, tn.Name)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := owner.Create(ctx, newClaim("ccap-dev", fmt.Sprintf("ccap-c%d", i))); err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	const refusal = "tenant ccap has 1 namespaces in spec.namespaces and 2 claimed, at most 3 allowed by constraints.maxNamespaces of TenantClass capped"
	var ready, refused []string
	NewWithT(t).Eventually(func(g Gomega) {
		ready, refused = nil, nil
		var list tenantryv1alpha1.NamespaceClaimList
		g.Expect(k8s.List(ctx, &list, client.InNamespace("ccap-dev"))).To(Succeed())
		for _, c := range list.Items {
			g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
			r := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionReady)
			g.Expect(r).NotTo(BeNil())
			if r.Status == metav1.ConditionTrue {
				ready = append(ready, c.Name)
				continue
			}
			s := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled)
			g.Expect(s).NotTo(BeNil(), "%s: %s %s", c.Name, r.Reason, r.Message)
			g.Expect([]string{s.Reason, s.Message, c.Status.Namespace}).To(Equal([]string{tenantryv1alpha1.ReasonMaxNamespaces, refusal, ""}))
			refused = append(refused, c.Name)
		}
		g.Expect([]int{len(ready), len(refused)}).To(Equal([]int{2, 4}))
	}, eventually, 100*time.Millisecond).Should(Succeed())
	waitSettled(t, time.Second)
	for _, name := range refused {
		eventuallyAbsent(t, &corev1.Namespace{}, "", name)
	}
	var list corev1.NamespaceList
	must(k8s.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: "ccap"}))
	if len(list.Items) != 3 {
		t.Fatalf("%d namespaces of the tenant, want the class's 3", len(list.Items))
	}
	// A refused claim does not make its Tenant less Ready.
	if st := waitReady(t, tn.Name).Status; st.NamespaceCount != 3 {
		t.Fatalf("namespaceCount %d", st.NamespaceCount)
	}
}

// TestClassGivesSelfService: a class's selfService reaches members that set
// none; a member's own wins (maxNamespaces 0 opts out); deletionPolicy
// comes from the class; a class cannot give a claim prefix.
func TestClassGivesSelfService(t *testing.T) {
	ctx := context.Background()
	bad := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "shared-prefix"}}
	bad.Spec.Defaults.SelfService = &tenantryv1alpha1.SelfService{MaxNamespaces: 1, NamePrefix: "dev-"}
	const refused = `TenantClass.tenantry.io "shared-prefix" is invalid: spec.defaults.selfService.namePrefix: Invalid value: defaults.selfService.namePrefix: a claim prefix is a Tenant's own (by default '<tenant name>-'), so that no two members claim names from one space; a class cannot give one`
	if err := k8s.Create(ctx, bad); err == nil || err.Error() != refused {
		t.Fatalf("got %v\nwant %s", err, refused)
	}

	class := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "selfserve"}}
	class.Spec.Defaults.SelfService = &tenantryv1alpha1.SelfService{MaxNamespaces: 1, DeletionPolicy: tenantryv1alpha1.DeletionPolicyDelete}
	createClass(t, class)
	inherits := newTenant("cgive", "cgive-dev")
	inherits.Spec.Class = "selfserve"
	optsOut := selfServiceTenant("coptout", 0)
	optsOut.Spec.Class = "selfserve"
	createTenant(t, inherits)
	createTenant(t, optsOut)
	waitReady(t, inherits.Name)
	waitReady(t, optsOut.Name)

	owner := ownerClient(t, "cgive")
	must(owner.Create(ctx, newClaim("cgive-dev", "cgive-one")))
	waitClaim(t, "cgive-dev", "cgive-one", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	must(owner.Create(ctx, newClaim("cgive-dev", "cgive-two")))
	must(ownerClient(t, "coptout").Create(ctx, newClaim("coptout-dev", "coptout-one")))
	for _, r := range []struct{ ns, name, message string }{
		{"cgive-dev", "cgive-two", "tenant cgive has 1 claimed namespaces, at most 1 allowed by selfService.maxNamespaces"},
		{"coptout-dev", "coptout-one", "tenant coptout has 0 claimed namespaces, at most 0 allowed by selfService.maxNamespaces"},
	} {
		c := waitClaim(t, r.ns, r.name, metav1.ConditionFalse, tenantryv1alpha1.ReasonMaxNamespaces)
		if s := meta.FindStatusCondition(c.Status.Conditions, tenantryv1alpha1.ConditionStalled); s == nil || s.Message != r.message {
			t.Fatalf("%s/%s: %+v", r.ns, r.name, c.Status.Conditions)
		}
		eventuallyAbsent(t, &corev1.Namespace{}, "", r.name)
	}
	// The class's deletionPolicy: deleting the claim deletes its namespace.
	must(owner.Delete(ctx, newClaim("cgive-dev", "cgive-one")))
	NewWithT(t).Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		err := k8s.Get(ctx, client.ObjectKey{Name: "cgive-one"}, ns)
		g.Expect(apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil).To(BeTrue())
	}, eventually, 100*time.Millisecond).Should(Succeed())
}
