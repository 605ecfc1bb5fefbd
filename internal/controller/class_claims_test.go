package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
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
	tn := selfServiceTenant("ssk", 128)
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
			if err := owner.Create(ctx, newClaim("ssk-dev", fmt.Sprintf("ssk-c%d", i))); err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	const refusal = "tenant ssk has 1 namespaces in spec.namespaces and 2 claimed, at most 3 allowed by constraints.maxNamespaces of TenantClass capped"
	var ready, refused []string
	NewWithT(t).Eventually(func(g Gomega) {
		ready, refused = nil, nil
		var list tenantryv1alpha1.NamespaceClaimList
		g.Expect(k8s.List(ctx, &list, client.InNamespace("ssk-dev"))).To(Succeed())
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
	must(k8s.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: "ssk"}))
	if len(list.Items) != 3 {
		t.Fatalf("%d namespaces of the tenant, want the class's 3", len(list.Items))
	}
	// A refused claim does not make its Tenant less Ready.
	if st := waitReady(t, tn.Name).Status; st.NamespaceCount != 3 {
		t.Fatalf("namespaceCount %d", st.NamespaceCount)
	}
}
