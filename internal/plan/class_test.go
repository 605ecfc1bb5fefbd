package plan

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
)

func classed(tn *tenantryv1alpha1.Tenant, c *tenantryv1alpha1.TenantClassConstraints) *effective.Tenant {
	tn.Spec.Class = "gold"
	class := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 3},
		Spec: tenantryv1alpha1.TenantClassSpec{Constraints: c}}
	return effective.WithClass(tn, class, opts)
}

func TestClassNotFoundHaltsEverything(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tenant("team-dev"))
	tn.Spec.Class = "gone"
	tn.Spec.ResourceQuotas[0].Hard["pods"] = resource.MustParse("99")
	p := Build(effective.WithClass(tn, nil, opts), w.obs, cfg)
	if !p.Halted || p.Changes() || len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonClassNotFound {
		t.Fatalf("halted %v actions %v stalled %+v", p.Halted, summary(p), p.Stalled)
	}
}

func TestClassViolations(t *testing.T) {
	floor := tenantryv1alpha1.PodSecurityBaseline
	tests := []struct {
		name   string
		c      tenantryv1alpha1.TenantClassConstraints
		mutate func(*tenantryv1alpha1.Tenant)
		want   []string
	}{
		{"within every bound", tenantryv1alpha1.TenantClassConstraints{MaxNamespaces: ptr.To[int32](2), PodSecurityFloor: floor,
			AllowedClusterRoles: []string{"admin"}, MaxQuota: corev1.ResourceList{"pods": resource.MustParse("10")}},
			func(*tenantryv1alpha1.Tenant) {}, nil},
		{"namespaces", tenantryv1alpha1.TenantClassConstraints{MaxNamespaces: ptr.To[int32](1)},
			func(tn *tenantryv1alpha1.Tenant) {
				tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "team-prod"})
			},
			[]string{"spec.namespaces: 2 namespaces, at most 1 allowed by constraints.maxNamespaces (TenantClass gold)"}},
		{"Pod Security of the Tenant and of a namespace", tenantryv1alpha1.TenantClassConstraints{PodSecurityFloor: floor},
			func(tn *tenantryv1alpha1.Tenant) {
				tn.Spec.PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityPrivileged}
				tn.Spec.Namespaces[0].PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityRestricted}
			},
			[]string{"spec.podSecurity: enforce privileged is below constraints.podSecurityFloor baseline (TenantClass gold)"}},
		{"roles: owner and bindings", tenantryv1alpha1.TenantClassConstraints{AllowedClusterRoles: []string{"view"}},
			func(tn *tenantryv1alpha1.Tenant) {
				tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "ci", ClusterRole: "edit"}}
			},
			[]string{"spec.ownerClusterRole: ClusterRole admin is not in constraints.allowedClusterRoles (view) (TenantClass gold)",
				"spec.roleBindings[ci].clusterRole: ClusterRole edit is not in constraints.allowedClusterRoles (view) (TenantClass gold)"}},
		{"quota", tenantryv1alpha1.TenantClassConstraints{MaxQuota: corev1.ResourceList{"pods": resource.MustParse("5"), "cpu": resource.MustParse("1")}},
			func(*tenantryv1alpha1.Tenant) {},
			[]string{"spec.resourceQuotas[compute].hard[pods]: 10 is above constraints.maxQuota 5 (TenantClass gold)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := tenant("team-dev")
			tt.mutate(tn)
			e := classed(tn, &tt.c)
			got := ClassViolations(e)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			p := Build(e, &Observed{}, cfg)
			if (len(tt.want) > 0) != p.Halted || len(tt.want) > 0 && (p.Changes() || p.Stalled[0].Reason != tenantryv1alpha1.ReasonClassConstraintViolated) {
				t.Fatalf("halted %v actions %v stalled %+v", p.Halted, summary(p), p.Stalled)
			}
		})
	}
}
