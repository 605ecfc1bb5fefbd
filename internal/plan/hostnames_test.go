package plan

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/render"
)

func TestHostnamesOverlap(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"a.example.com", "a.example.com", true},
		{"*.example.com", "a.example.com", true},
		{"a.example.com", "*.example.com", true},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "b.a.example.com", false}, // one label only
		{"*.example.com", "example.com", false},
		{"*.a.example.com", "*.example.com", false},
		{"a.example.com", "b.example.com", false},
		{"*.example.com", "a.example.org", false},
	} {
		if got := HostnamesOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("HostnamesOverlap(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func hostnameTenant(name string, hostnames ...string) *tenantryv1alpha1.Tenant {
	tn := tenant(name + "-a")
	tn.Name, tn.UID = name, types.UID("uid-"+name)
	tn.Spec.Workloads = &tenantryv1alpha1.Workloads{}
	for _, h := range hostnames {
		tn.Spec.Workloads.Hostnames = append(tn.Spec.Workloads.Hostnames, tenantryv1alpha1.Hostname(h))
	}
	return tn
}

var t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func at(seconds int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(seconds) * time.Second)) }

func hostClaim(name string, created metav1.Time, hostnames ...string) HostnameClaim {
	return HostnameClaim{Tenant: name, UID: types.UID("uid-" + name), Created: created, Hostnames: hostnames}
}

func TestGrantHostnames(t *testing.T) {
	mine := []string{"team-a.example.com", "*.team-a.example.com", "shop.example.com"}
	tests := []struct {
		name      string
		created   metav1.Time
		claims    []HostnameClaim
		held      Grants
		granted   []string
		conflicts []HostnameConflict
	}{{
		name: "no one else: all granted", created: at(10), granted: mine,
	}, {
		name: "a later Tenant asking for the same: all granted", created: at(10),
		claims:  []HostnameClaim{hostClaim("b", at(20), "shop.example.com", "www.team-a.example.com")},
		granted: mine,
	}, {
		name: "an earlier Tenant holds one exactly", created: at(10),
		claims:    []HostnameClaim{hostClaim("b", at(5), "shop.example.com")},
		granted:   []string{"team-a.example.com", "*.team-a.example.com"},
		conflicts: []HostnameConflict{{Hostname: "shop.example.com", Tenant: "b", Theirs: "shop.example.com"}},
	}, {
		name: "an earlier wildcard covers one, an earlier name is covered by our wildcard", created: at(10),
		claims: []HostnameClaim{
			hostClaim("b", at(5), "*.example.com"),
			hostClaim("c", at(1), "api.team-a.example.com"),
		},
		conflicts: []HostnameConflict{
			{Hostname: "*.team-a.example.com", Tenant: "c", Theirs: "api.team-a.example.com"},
			{Hostname: "shop.example.com", Tenant: "b", Theirs: "*.example.com"},
			{Hostname: "team-a.example.com", Tenant: "b", Theirs: "*.example.com"},
		},
	}, {
		name: "same creation second: the smaller name holds it", created: at(10),
		claims:    []HostnameClaim{hostClaim("a", at(10), "team-a.example.com"), hostClaim("zz", at(10), "shop.example.com")},
		granted:   []string{"*.team-a.example.com", "shop.example.com"},
		conflicts: []HostnameConflict{{Hostname: "team-a.example.com", Tenant: "a", Theirs: "team-a.example.com"}},
	}, {
		name: "a later Tenant holds one: it keeps it, whatever our age", created: at(10),
		claims:    []HostnameClaim{hostClaim("b", at(20), "shop.example.com")},
		held:      Grants{"shop.example.com": "b"},
		granted:   []string{"team-a.example.com", "*.team-a.example.com"},
		conflicts: []HostnameConflict{{Hostname: "shop.example.com", Tenant: "b", Theirs: "shop.example.com"}},
	}, {
		name: "a later Tenant holds a name our wildcard covers", created: at(10),
		claims:    []HostnameClaim{hostClaim("b", at(20), "api.team-a.example.com")},
		held:      Grants{"api.team-a.example.com": "b"},
		granted:   []string{"team-a.example.com", "shop.example.com"},
		conflicts: []HostnameConflict{{Hostname: "*.team-a.example.com", Tenant: "b", Theirs: "api.team-a.example.com"}},
	}, {
		name: "we hold ours: an earlier Tenant asking for them gets none", created: at(10),
		claims:  []HostnameClaim{hostClaim("b", at(1), "shop.example.com", "*.team-a.example.com")},
		held:    Grants{"shop.example.com": "team", "*.team-a.example.com": "team", "team-a.example.com": "team"},
		granted: mine,
	}, {
		name: "a holder that no longer asks for it holds nothing", created: at(10),
		claims:  []HostnameClaim{hostClaim("b", at(20), "other.example.com")},
		held:    Grants{"shop.example.com": "b"},
		granted: mine,
	}, {
		name: "two holders of overlapping names (a hand-edited table): the earlier keeps it", created: at(10),
		claims:  []HostnameClaim{hostClaim("b", at(5), "*.example.com")},
		held:    Grants{"shop.example.com": "team", "*.example.com": "b"},
		granted: []string{"*.team-a.example.com"},
		conflicts: []HostnameConflict{
			{Hostname: "shop.example.com", Tenant: "b", Theirs: "*.example.com"},
			{Hostname: "team-a.example.com", Tenant: "b", Theirs: "*.example.com"},
		},
	}, {
		name: "its own claim and unrelated ones change nothing", created: at(10),
		claims:  []HostnameClaim{hostClaim("team", at(10), mine...), hostClaim("d", at(1), "team-b.example.com", "*.b.team-a.example.com")},
		granted: mine,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := effective.Of(hostnameTenant("team", mine...), opts)
			granted, conflicts := GrantHostnames(e, tt.created, tt.claims, tt.held)
			if !slices.Equal(granted, tt.granted) {
				t.Errorf("granted %v, want %v", granted, tt.granted)
			}
			slices.SortFunc(conflicts, func(a, b HostnameConflict) int { return strings.Compare(a.Hostname, b.Hostname) })
			if !slices.Equal(conflicts, tt.conflicts) {
				t.Errorf("conflicts %v, want %v", conflicts, tt.conflicts)
			}
		})
	}
}

// Both creation orders: whoever was created first holds the hostname; the
// other is Stalled HostnameConflict, gets everything else, and its
// namespaces' hostnames annotation omits what it was not granted.
func TestHostnameConflictStallsTheLaterTenantOnly(t *testing.T) {
	a := hostnameTenant("a", "shop.example.com", "a.example.com")
	b := hostnameTenant("b", "*.example.com")
	for _, order := range []struct {
		name         string
		aAt, bAt     metav1.Time
		loser        *tenantryv1alpha1.Tenant
		winner       *tenantryv1alpha1.Tenant
		loserGranted string
		message      string
	}{{
		name: "a first", aAt: at(1), bAt: at(2), loser: b, winner: a, loserGranted: "",
		message: "Hostnames held by another Tenant were not granted: *.example.com (tenant a has shop.example.com); " +
			"Ingresses may not serve them until that Tenant gives them up",
	}, {
		name: "b first", aAt: at(2), bAt: at(1), loser: a, winner: b, loserGranted: "",
		message: "Hostnames held by another Tenant were not granted: shop.example.com (tenant b has *.example.com), " +
			"a.example.com (tenant b has *.example.com); Ingresses may not serve them until that Tenant gives them up",
	}} {
		t.Run(order.name, func(t *testing.T) {
			created := map[string]metav1.Time{"a": order.aAt, "b": order.bAt}
			claims := []HostnameClaim{ClaimOf(a), ClaimOf(b)}
			for i := range claims {
				claims[i].Created = created[claims[i].Tenant]
			}
			for _, tn := range []*tenantryv1alpha1.Tenant{order.winner, order.loser} {
				p := Build(effective.Of(tn, opts), &Observed{Created: created[tn.Name], HostnameClaims: claims}, cfg)
				ns := p.Actions[0].Object
				ann := asAnnotations(t, ns)
				if tn == order.winner {
					if len(p.Stalled) != 0 || ann[tenantryv1alpha1.HostnamesAnnotation] != strings.Join(effective.Hostnames(&tn.Spec), ",") {
						t.Fatalf("the earlier Tenant keeps all: stalled %v, annotation %q", p.Stalled, ann[tenantryv1alpha1.HostnamesAnnotation])
					}
					continue
				}
				if len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonHostnameConflict || p.Stalled[0].Message != order.message {
					t.Fatalf("stalled = %+v", p.Stalled)
				}
				if v, ok := ann[tenantryv1alpha1.HostnamesAnnotation]; !ok || v != order.loserGranted {
					t.Fatalf("hostnames annotation = %q (present %v), want %q", v, ok, order.loserGranted)
				}
				// Everything else is still made.
				if want := len(Initial(effective.Of(tn, opts))); len(p.Actions) != want {
					t.Fatalf("a Tenant stalled on hostnames still gets everything else: %v", summary(p))
				}
			}
		})
	}
}

// The granted hostnames are an input of the namespaces: a namespace
// verified while every hostname was granted is checked again once one is
// held elsewhere, and the change is applied as such, not as drift, even
// under driftPolicy Report.
func TestGrantedHostnamesAreNamespaceInputs(t *testing.T) {
	tn := hostnameTenant("late", "shop.example.com", "late.example.com")
	tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport
	w := converged(t, tn) // every hostname granted
	full := w.obs.Namespaces["late-a"].Object
	slim, err := cache.Slim(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	w.obs.Namespaces["late-a"] = Namespace{Object: slim.(*corev1.Namespace), Cached: true}
	hash := effective.Of(tn, opts).Hash
	w.obs.Verified = func(_, _, inputs string) bool {
		return inputs == hash || inputs == hash+"/hostnames=shop.example.com,late.example.com"
	}
	if p := w.plan(tn); p.Changes() || len(p.Confirm) > 0 {
		t.Fatalf("converged: %v, confirm %v", summary(p), p.Confirm)
	}
	w.obs.Created = at(10)
	w.obs.HostnameClaims = []HostnameClaim{hostClaim("early", at(1), "shop.example.com")}
	p := w.plan(tn)
	if len(p.Confirm) != 1 || p.Confirm[0].Key() != "Namespace/late-a" {
		t.Fatalf("the namespace must be read again: confirm %v, actions %v", p.Confirm, summary(p))
	}
	w.obs.Full["Namespace/late-a"] = full
	p = w.plan(tn)
	if got := summary(p); !slices.Equal(got, []string{"apply Namespace/late-a"}) || p.Actions[0].Why != "hostnames granted changed" || len(p.Reports) != 0 {
		t.Fatalf("actions %v (%+v), reports %v", got, p.Actions, p.Reports)
	}
	if ann := asAnnotations(t, p.Actions[0].Object); ann[tenantryv1alpha1.HostnamesAnnotation] != "late.example.com" {
		t.Fatalf("hostnames annotation = %q", ann[tenantryv1alpha1.HostnamesAnnotation])
	}
}

func asAnnotations(t *testing.T, o render.Object) map[string]string {
	t.Helper()
	data, err := json.Marshal(o.Apply)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Metadata struct{ Annotations map[string]string }
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m.Metadata.Annotations
}

// A namespace stored by a Tenantry that rendered fewer guardrails (before
// egress and the isolation annotation) gets them at the first pass, as an
// update rather than drift, even under driftPolicy Report: guardrails fail
// closed. Someone else's change to one stays drift.
func TestGuardrailsAddedByANewerTenantryAreNoDrift(t *testing.T) {
	tn := tenant("team-dev")
	tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport
	w := converged(t, tn)
	stored := w.obs.Namespaces["team-dev"].Object
	delete(stored.Annotations, tenantryv1alpha1.IsolationAnnotation)
	stripOwned(t, stored, tenantryv1alpha1.IsolationAnnotation)
	p := w.plan(tn)
	if got := summary(p); !slices.Equal(got, []string{"apply Namespace/team-dev"}) || p.Actions[0].Why != "guardrail annotations updated" || len(p.Reports) != 0 {
		t.Fatalf("actions %v (%+v), reports %v", got, p.Actions, p.Reports)
	}
}

// stripOwned removes an annotation from the field set Tenantry's manager owns
// on a stored object, as the server does when the field goes.
func stripOwned(t *testing.T, obj *corev1.Namespace, key string) {
	t.Helper()
	for i, mf := range obj.ManagedFields {
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set); err != nil {
			t.Fatal(err)
		}
		if meta, ok := set["f:metadata"].(map[string]any); ok {
			if ann, ok := meta["f:annotations"].(map[string]any); ok {
				delete(ann, "f:"+key)
			}
		}
		raw, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		obj.ManagedFields[i].FieldsV1.SetRawBytes(raw)
	}
}
