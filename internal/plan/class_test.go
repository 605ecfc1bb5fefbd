package plan

import (
	"fmt"
	"slices"
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
			got := ClassViolations(e, 0)
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

// TestClassMaxNamespacesCountsClaims: the class bounds spec and claimed
// namespaces together, whatever selfService allows; claims past it are
// refused (no namespace made), held ones past it stall the Tenant.
func TestClassMaxNamespacesCountsClaims(t *testing.T) {
	tests := []struct {
		name                     string
		spec, held, fresh        int
		classMax, selfServiceMax int32
		accepted                 int    // of the fresh claims
		refusal                  string // each refused fresh claim's message
		violation                string // the Stalled message, when halted
	}{
		{name: "many claims at once stop at the class bound", spec: 1, fresh: 5, classMax: 3, selfServiceMax: 128, accepted: 2,
			refusal: "tenant team has 1 namespaces in spec.namespaces and 2 claimed, at most 3 allowed by constraints.maxNamespaces of TenantClass gold"},
		{name: "held claims count", spec: 1, held: 1, fresh: 2, classMax: 3, selfServiceMax: 128, accepted: 1,
			refusal: "tenant team has 1 namespaces in spec.namespaces and 2 claimed, at most 3 allowed by constraints.maxNamespaces of TenantClass gold"},
		{name: "spec namespaces fill the bound", spec: 3, fresh: 1, classMax: 3, selfServiceMax: 128,
			refusal: "tenant team has 3 namespaces in spec.namespaces and 0 claimed, at most 3 allowed by constraints.maxNamespaces of TenantClass gold"},
		{name: "the tighter selfService bound is named", spec: 1, fresh: 3, classMax: 5, selfServiceMax: 1, accepted: 1,
			refusal: "tenant team has 1 claimed namespaces, at most 1 allowed by selfService.maxNamespaces"},
		{name: "within both bounds", spec: 1, held: 1, fresh: 2, classMax: 4, selfServiceMax: 3, accepted: 2},
		{name: "a class lowered below what is held stalls the Tenant", spec: 1, held: 2, fresh: 1, classMax: 2, selfServiceMax: 128,
			violation: "spec.namespaces: 1 namespaces plus 2 claimed, at most 2 allowed by constraints.maxNamespaces (TenantClass gold); nothing of this spec was applied or changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := selfServiceTenant(tt.selfServiceMax)
			for i := 1; i < tt.spec; i++ {
				tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: fmt.Sprintf("team-s%d", i)})
			}
			w := converged(t, tn)
			for i := range tt.held + tt.fresh {
				c := claim("team-dev", fmt.Sprintf("team-c%d", i), i)
				if i < tt.held {
					w.obs.Namespaces[c.Name] = claimedNamespace(tn, c)
				}
				w.obs.Claims = append(w.obs.Claims, c)
			}
			p := Build(classed(tn, &tenantryv1alpha1.TenantClassConstraints{MaxNamespaces: ptr.To(tt.classMax)}), w.obs, cfg)
			if tt.violation != "" {
				if !p.Halted || p.Changes() || len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonClassConstraintViolated ||
					p.Stalled[0].Message != tt.violation {
					t.Fatalf("halted %v actions %v stalled %+v", p.Halted, summary(p), p.Stalled)
				}
				return
			}
			var accepted, created []string
			for _, v := range p.Claims {
				switch {
				case v.Accepted:
					accepted = append(accepted, v.Name)
				case v.Reason != tenantryv1alpha1.ReasonMaxNamespaces || v.Message != tt.refusal:
					t.Fatalf("refused %+v\nwant %q", v, tt.refusal)
				}
			}
			for _, a := range p.NamespaceActions() {
				if a.Created {
					created = append(created, a.Object.Name)
				}
			}
			var want []string
			for i := range tt.held + tt.accepted {
				want = append(want, fmt.Sprintf("team-c%d", i))
			}
			if !slices.Equal(accepted, want) || !slices.Equal(created, want[tt.held:]) || len(p.Stalled) > 0 {
				t.Fatalf("accepted %v created %v stalled %v, want %v accepted, the fresh ones created", accepted, created, p.Stalled, want)
			}
		})
	}

	// A claimed namespace the spec now lists is counted once: as the spec's.
	tn := selfServiceTenant(128)
	tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "team-c0"})
	w := converged(t, tn)
	c := claim("team-dev", "team-c0", 0)
	w.obs.Namespaces[c.Name] = claimedNamespace(tn, c)
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{c}
	if p := Build(classed(tn, &tenantryv1alpha1.TenantClassConstraints{MaxNamespaces: ptr.To[int32](2)}), w.obs, cfg); p.Halted {
		t.Fatalf("counted twice: %+v", p.Stalled)
	}
}

func TestNoSelfServiceFromTheClassEither(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tn)
	c := claim("team-dev", "team-x", 0)
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{c}
	v := verdicts(Build(classed(tn, nil), w.obs, cfg))[ClaimKey(&c)]
	if v.Reason != tenantryv1alpha1.ReasonSelfServiceDisabled ||
		v.Message != "Tenant team does not allow claiming namespaces (no spec.selfService, nor one from TenantClass gold)" {
		t.Fatalf("verdict %+v", v)
	}
}

// TestConvergedMemberPastAConstraint: a class change that puts a converged
// member past a constraint halts its plan: nothing written, not even the
// class's new default, and no claim decided (each is told why).
func TestConvergedMemberPastAConstraint(t *testing.T) {
	tn := selfServiceTenant(3)
	w := converged(t, tn)
	c := claim("team-dev", "team-x", 0)
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{c}
	class := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 4}, Spec: tenantryv1alpha1.TenantClassSpec{
		Defaults:    tenantryv1alpha1.TenantDefaults{LimitRange: &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}},
		Constraints: &tenantryv1alpha1.TenantClassConstraints{MaxQuota: corev1.ResourceList{"pods": resource.MustParse("5")}},
	}}
	tn.Spec.Class = "gold"
	w.obs.Status.ClassGeneration = 3
	p := Build(effective.WithClass(tn, class, opts), w.obs, cfg)
	want := "spec.resourceQuotas[compute].hard[pods]: 10 is above constraints.maxQuota 5 (TenantClass gold); nothing of this spec was applied or changed"
	if !p.Halted || p.Changes() || len(p.Actions) > 0 || len(p.Stalled) != 1 || p.Stalled[0].Message != want ||
		len(p.Claims) != 1 || !p.Claims[0].Halted || p.Claims[0].Accepted {
		t.Fatalf("halted %v actions %v claims %v stalled %+v", p.Halted, summary(p), p.Claims, p.Stalled)
	}
}
