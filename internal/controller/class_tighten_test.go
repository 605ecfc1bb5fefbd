package controller

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

// versions are the resourceVersions of every object of the tenant, of
// every managed kind, by key (claims are not managed: their status says
// why the Tenant is halted).
func versions(t *testing.T, tenant string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range kinds.All() {
		gvk, err := apiutil.GVKForObject(k.New(), scheme)
		must(err)
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		must(k8s.List(context.Background(), list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant}))
		for _, o := range list.Items {
			out[kinds.Key(k.Name, o.Namespace, o.Name)] = o.ResourceVersion
		}
	}
	return out
}

// TestClassTighteningStallsAConvergedMember: a class change that puts an
// existing, converged member past a constraint stalls it, naming the field
// and the bound, and applies nothing of the change: no object of the
// tenant is written. Loosening the constraint again applies the change.
func TestClassTighteningStallsAConvergedMember(t *testing.T) {
	createClass(t, goldClass("tightening"))
	tn := selfServiceTenant("tight", 3)
	tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "tight-prod"})
	tn.Spec.Class = "tightening"
	createTenant(t, tn)
	waitReady(t, tn.Name)
	must(ownerClient(t, tn.Name).Create(context.Background(), newClaim("tight-dev", "tight-x")))
	waitClaim(t, "tight-dev", "tight-x", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	waitRolledOut(t, "tightening", 1)

	storage := func() string {
		q := get(t, &corev1.ResourceQuota{}, "tight-dev", "tenantry-storage").Spec.Hard["persistentvolumeclaims"]
		return q.String()
	}
	tests := []struct {
		name      string
		tighten   func(*tenantryv1alpha1.TenantClassConstraints)
		violation string
	}{
		{"maxQuota below the member's quota", func(c *tenantryv1alpha1.TenantClassConstraints) {
			c.MaxQuota = corev1.ResourceList{"pods": resource.MustParse("5")}
		}, "spec.resourceQuotas[compute].hard[pods]: 10 is above constraints.maxQuota 5 (TenantClass tightening)"},
		{"maxNamespaces below spec plus claimed namespaces", func(c *tenantryv1alpha1.TenantClassConstraints) {
			c.MaxNamespaces = ptr.To[int32](2)
		}, "spec.namespaces: 2 namespaces plus 1 claimed, at most 2 allowed by constraints.maxNamespaces (TenantClass tightening)"},
		{"a Pod Security floor above the class's own default", func(c *tenantryv1alpha1.TenantClassConstraints) {
			c.PodSecurityFloor = tenantryv1alpha1.PodSecurityRestricted
		}, "spec.podSecurity: enforce baseline is below constraints.podSecurityFloor restricted (TenantClass tightening)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitSettled(t, time.Second)
			rvs, before := versions(t, tn.Name), writes.snapshot()
			if len(rvs) < 17 { // 3 namespaces with 4 children each, the cluster RBAC
				t.Fatalf("the tenant's objects: %v", rvs)
			}
			// One class write: the tightened constraint and a default change
			// the member would otherwise apply.
			updateClass(t, "tightening", func(c *tenantryv1alpha1.TenantClass) {
				c.Spec.Constraints = &tenantryv1alpha1.TenantClassConstraints{}
				tt.tighten(c.Spec.Constraints)
				c.Spec.Defaults.ResourceQuotas[1].Hard["persistentvolumeclaims"] = resource.MustParse("7")
			})
			got := waitCondition(t, tn.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClassConstraintViolated)
			if msg := condition(got, tenantryv1alpha1.ConditionStalled).Message; msg != tt.violation+"; nothing of this spec was applied or changed" {
				t.Fatalf("message %q\nwant    %q", msg, tt.violation)
			}
			waitSettled(t, time.Second)
			if after := versions(t, tn.Name); !maps.Equal(after, rvs) {
				t.Fatalf("objects changed under a violated constraint:\nbefore %v\nafter  %v", rvs, after)
			}
			for path := range writes.since(before) {
				if !strings.HasSuffix(path, "/tenants/tight/status") && !strings.HasSuffix(path, "/tenantclasses/tightening/status") &&
					!strings.HasSuffix(path, "/namespaceclaims/tight-x/status") {
					t.Errorf("wrote %s under a violated constraint", path)
				}
			}
			// The claim is told, and keeps its namespace.
			if c := waitClaim(t, "tight-dev", "tight-x", metav1.ConditionFalse, tenantryv1alpha1.ReasonClassConstraintViolated); c.Status.Namespace != "tight-x" {
				t.Fatalf("claim status %+v", c.Status)
			}
			if storage() != "5" {
				t.Fatalf("the class's new default was applied: %s", storage())
			}

			// Loosened again (the default change kept): the member applies it.
			updateClass(t, "tightening", func(c *tenantryv1alpha1.TenantClass) { c.Spec.Constraints = nil })
			waitReady(t, tn.Name)
			waitRolledOut(t, "tightening", 1)
			waitClaim(t, "tight-dev", "tight-x", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
			if storage() != "7" {
				t.Fatalf("after loosening: storage quota %s", storage())
			}
			updateClass(t, "tightening", func(c *tenantryv1alpha1.TenantClass) {
				c.Spec.Defaults.ResourceQuotas[1].Hard["persistentvolumeclaims"] = resource.MustParse("5")
			})
			waitRolledOut(t, "tightening", 1)
			waitReady(t, tn.Name)
		})
	}
}
