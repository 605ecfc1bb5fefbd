package plan

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/status"
)

var claimEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// selfServiceTenant lists team-dev and lets its owners claim max namespaces.
func selfServiceTenant(max int32) *tenantryv1alpha1.Tenant {
	tn := tenant("team-dev")
	tn.Spec.SelfService = &tenantryv1alpha1.SelfService{MaxNamespaces: max}
	return tn
}

// claim is a claim in host for namespace name, created at second created.
func claim(host, name string, created int) tenantryv1alpha1.NamespaceClaim {
	return tenantryv1alpha1.NamespaceClaim{ObjectMeta: metav1.ObjectMeta{
		Namespace: host, Name: name, Generation: 1, UID: types.UID("claim-" + host + "-" + name),
		CreationTimestamp: metav1.NewTime(claimEpoch.Add(time.Duration(created) * time.Second)),
	}}
}

// claimedNamespace is the namespace Tenantry created for c, as cached.
func claimedNamespace(tn *tenantryv1alpha1.Tenant, c tenantryv1alpha1.NamespaceClaim) Namespace {
	return Namespace{Cached: true, Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: c.Name, UID: types.UID("ns-uid-" + c.Name), ResourceVersion: "7",
		Labels: map[string]string{tenantryv1alpha1.TenantLabel: tn.Name},
		Annotations: map[string]string{tenantryv1alpha1.TenantUIDAnnotation: string(tn.UID),
			tenantryv1alpha1.ClaimAnnotation: ClaimKey(&c)},
	}}}
}

func verdicts(p *Plan) map[string]status.ClaimVerdict {
	out := map[string]status.ClaimVerdict{}
	for _, v := range p.Claims {
		out[v.Key()] = v
	}
	return out
}

func hasAction(p *Plan, summaryLine string) bool { return slices.Contains(summary(p), summaryLine) }

func TestClaimRefusals(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(tn *tenantryv1alpha1.Tenant, w *world)
		claim   tenantryv1alpha1.NamespaceClaim
		reason  string
		message string
	}{{
		name:   "no selfService",
		mutate: func(tn *tenantryv1alpha1.Tenant, _ *world) { tn.Spec.SelfService = nil },
		claim:  claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonSelfServiceDisabled,
		message: "Tenant team does not allow claiming namespaces (no spec.selfService)",
	}, {
		name:  "default prefix",
		claim: claim("team-dev", "other-x", 0), reason: tenantryv1alpha1.ReasonNamePrefix,
		message: "the namespaces of tenant team are claimed with names starting with team-",
	}, {
		name:   "custom prefix",
		mutate: func(tn *tenantryv1alpha1.Tenant, _ *world) { tn.Spec.SelfService.NamePrefix = "t1-" },
		claim:  claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonNamePrefix,
		message: "the namespaces of tenant team are claimed with names starting with t1-",
	}, {
		name: "an unlabelled namespace exists",
		mutate: func(_ *tenantryv1alpha1.Tenant, w *world) {
			w.obs.Namespaces["team-x"] = Namespace{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-x"}}}
		},
		claim: claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonNamespaceExists,
		message: "namespace team-x exists; a claim only ever gets a namespace Tenantry creates for it",
	}, {
		name: "another tenant's namespace exists",
		mutate: func(_ *tenantryv1alpha1.Tenant, w *world) {
			w.obs.Namespaces["team-x"] = Namespace{Cached: true, Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: "team-x", Labels: map[string]string{tenantryv1alpha1.TenantLabel: "other"}}}}
		},
		claim: claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonNamespaceExists,
		message: "namespace team-x exists; a claim only ever gets a namespace Tenantry creates for it",
	}, {
		name: "a namespace of this tenant's spec",
		mutate: func(tn *tenantryv1alpha1.Tenant, _ *world) {
			tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "team-x"})
		},
		claim: claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonNamespaceExists,
		message: "namespace team-x is listed in the spec.namespaces of Tenant team; no claim is needed",
	}, {
		name:   "maxNamespaces 0",
		mutate: func(tn *tenantryv1alpha1.Tenant, _ *world) { tn.Spec.SelfService.MaxNamespaces = 0 },
		claim:  claim("team-dev", "team-x", 0), reason: tenantryv1alpha1.ReasonMaxNamespaces,
		message: "tenant team has 0 claimed namespaces, at most 0 allowed by selfService.maxNamespaces",
	}, {
		name:   "the operator's namespace",
		mutate: func(tn *tenantryv1alpha1.Tenant, _ *world) { tn.Spec.SelfService.NamePrefix = "tenantry-" },
		claim:  claim("team-dev", "tenantry-system", 0), reason: tenantryv1alpha1.ReasonNamespaceProtected,
		message: "namespace tenantry-system is the Tenantry operator's own and can never be a tenant namespace",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := selfServiceTenant(3)
			w := converged(t, tn)
			if tt.mutate != nil {
				tt.mutate(tn, w)
			}
			w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{tt.claim}
			p := w.plan(tn)
			v := verdicts(p)[ClaimKey(&tt.claim)]
			if v.Accepted || v.Reason != tt.reason || v.Message != tt.message {
				t.Fatalf("verdict %+v, want %s %q", v, tt.reason, tt.message)
			}
			for _, a := range p.Actions {
				if a.Key() == kinds.Key(kinds.Namespace, "", tt.claim.Name) && a.Op != OpApply {
					t.Fatalf("a refused claim touches its namespace: %v", summary(p))
				}
				if a.Key() == kinds.Key(kinds.Namespace, "", tt.claim.Name) && tt.reason != tenantryv1alpha1.ReasonNamespaceExists {
					t.Fatalf("a refused claim makes its namespace: %v", summary(p))
				}
			}
			if len(p.Stalled) > 0 {
				t.Fatalf("a refused claim does not stall the Tenant: %v", p.Stalled)
			}
		})
	}
}

func TestClaimsAreCountedExactly(t *testing.T) {
	tn := selfServiceTenant(3)
	w := converged(t, tn)
	// Ten claims at once, created in a shuffled order: the three earliest win.
	order := []int{7, 2, 9, 0, 5, 3, 8, 1, 6, 4}
	for i, created := range order {
		w.obs.Claims = append(w.obs.Claims, claim("team-dev", fmt.Sprintf("team-c%d", i), created))
	}
	p := w.plan(tn)
	var accepted []string
	for _, v := range p.Claims {
		if v.Accepted {
			accepted = append(accepted, v.Name)
		} else if v.Reason != tenantryv1alpha1.ReasonMaxNamespaces ||
			v.Message != "tenant team has 3 claimed namespaces, at most 3 allowed by selfService.maxNamespaces" {
			t.Fatalf("refused %+v", v)
		}
	}
	if want := []string{"team-c3", "team-c7", "team-c1"}; !slices.Equal(accepted, want) {
		t.Fatalf("accepted %v, want the earliest %v in creation order", accepted, want)
	}
	creates := 0
	for _, a := range p.NamespaceActions() {
		if a.Created {
			creates++
		}
	}
	if creates != 3 {
		t.Fatalf("%d namespaces created, want 3: %v", creates, summary(p))
	}

	// Claims that have their namespace come first, whenever they were made:
	// two later claims own theirs, so one more is accepted, the earliest.
	for _, i := range []int{2, 9} {
		w.obs.Namespaces[w.obs.Claims[i].Name] = claimedNamespace(tn, w.obs.Claims[i])
	}
	accepted = nil
	for _, v := range w.plan(tn).Claims {
		if v.Accepted {
			accepted = append(accepted, v.Name)
		}
	}
	if want := []string{"team-c9", "team-c2", "team-c3"}; !slices.Equal(accepted, want) {
		t.Fatalf("accepted %v, want %v", accepted, want)
	}
	// Lowering the maximum takes no namespace away: owned claims stay.
	tn.Spec.SelfService.MaxNamespaces = 1
	accepted = nil
	for _, v := range w.plan(tn).Claims {
		if v.Accepted {
			accepted = append(accepted, v.Name)
		}
	}
	if want := []string{"team-c9", "team-c2"}; !slices.Equal(accepted, want) {
		t.Fatalf("accepted %v, want %v", accepted, want)
	}
}

func TestTwoClaimsForOneNamespace(t *testing.T) {
	tn := selfServiceTenant(3)
	tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "team-prod"})
	w := converged(t, tn)
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{claim("team-prod", "team-x", 1), claim("team-dev", "team-x", 1)}
	v := verdicts(w.plan(tn))
	if !v["team-dev/team-x"].Accepted {
		t.Fatalf("same time: by namespace and name, team-dev/team-x first: %+v", v)
	}
	if r := v["team-prod/team-x"]; r.Reason != tenantryv1alpha1.ReasonNamespaceExists || r.Message != "namespace team-x is claimed by NamespaceClaim team-dev/team-x" {
		t.Fatalf("second claim %+v", r)
	}
}

func TestAcceptedClaimIsATenantNamespace(t *testing.T) {
	tn := selfServiceTenant(3)
	w := converged(t, tn)
	c := claim("team-dev", "team-x", 0)
	c.Spec.Labels = map[string]tenantryv1alpha1.LabelValue{"purpose": "feature"}
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{c}
	w.obs.Namespaces["team-x"] = Namespace{} // read: absent
	p := w.plan(tn)
	for _, want := range []string{"apply Namespace/team-x", "apply ResourceQuota/team-x/tenantry-compute",
		"apply RoleBinding/team-x/tenantry-owner", "apply NetworkPolicy/team-x/tenantry-isolation", "apply ClusterRole/tenantry:tenant:team"} {
		if !hasAction(p, want) {
			t.Fatalf("missing %q in %v", want, summary(p))
		}
	}
	ac := p.NamespaceActions()[0].Object.Apply.(*corev1ac.NamespaceApplyConfiguration)
	if ac.Annotations[tenantryv1alpha1.ClaimAnnotation] != "team-dev/team-x" || ac.Labels["purpose"] != "feature" ||
		ac.Labels[tenantryv1alpha1.TenantLabel] != "team" || ac.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("claimed namespace %v %v", ac.Labels, ac.Annotations)
	}
	if !slices.Contains(p.Active, "team-x") {
		t.Fatalf("active %v", p.Active)
	}
	st := p.Namespaces[len(p.Namespaces)-1]
	if st.Name != "team-x" || st.Claim != "team-dev/team-x" || st.Phase != tenantryv1alpha1.NamespaceActive {
		t.Fatalf("status %+v", st)
	}
	if v := verdicts(p)["team-dev/team-x"]; !v.Accepted || v.Phase != tenantryv1alpha1.NamespaceActive {
		t.Fatalf("verdict %+v", v)
	}
	// Its inputs are the claim's too: a label change moves them.
	in := p.NamespaceActions()[0].Inputs
	c.Spec.Labels["purpose"] = "other"
	w.obs.Claims[0] = c
	if w.plan(tn).NamespaceActions()[0].Inputs == in {
		t.Fatal("a claim's spec is an input of its namespace")
	}
}

func TestClaimChangeIsNotDrift(t *testing.T) {
	tn := selfServiceTenant(3)
	tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport
	w := converged(t, tn)
	c := claim("team-dev", "team-x", 0)
	c.Status.ObservedGeneration = 1
	c.Generation = 2 // a new label not yet observed
	c.Spec.Labels = map[string]tenantryv1alpha1.LabelValue{"purpose": "feature"}
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{c}
	w.obs.Namespaces["team-x"] = claimedNamespace(tn, c)
	w.obs.Inventory["team-x"] = tenantryv1alpha1.InventoryEntry{Name: "team-x", UID: "ns-uid-team-x", Origin: tenantryv1alpha1.NamespaceCreated, Claim: "team-dev/team-x"}
	w.obs.Status.Namespaces = append(w.obs.Status.Namespaces, tenantryv1alpha1.NamespaceStatus{Name: "team-x", Phase: tenantryv1alpha1.NamespaceActive, Claim: "team-dev/team-x"})
	p := w.plan(tn)
	if !hasAction(p, "apply Namespace/team-x") {
		t.Fatalf("a claim's new spec is applied, not reported as drift: %v %v", summary(p), p.Reports)
	}
	for _, r := range p.Reports {
		if r.Finding.Kind == kinds.Namespace {
			t.Fatalf("reported as drift: %+v", r)
		}
	}
}

func TestClaimedNamespaceDeparture(t *testing.T) {
	const deleteNs, release = "delete Namespace/team-x", "release Namespace/team-x"
	const del = tenantryv1alpha1.DeletionPolicyDelete
	gone := func(w *world) { w.obs.Namespaces["team-dev"] = Namespace{} }
	tests := []struct {
		name          string
		selfService   tenantryv1alpha1.DeletionPolicy
		tenantPolicy  tenantryv1alpha1.DeletionPolicy
		tenantDeleted bool
		// host changes the claim's own namespace, team-dev.
		host func(w *world)
		// entry changes the inventory entry, ns the claimed namespace.
		entry func(e *tenantryv1alpha1.InventoryEntry)
		ns    func(ns *corev1.Namespace)
		want  string
	}{
		{name: "claim deleted, Retain by default", want: release},
		{name: "claim deleted, Delete", selfService: del, want: deleteNs},
		{name: "claim deleted, the Tenant's Delete does not apply", tenantPolicy: del, want: release},
		{name: "host namespace terminating, Retain by default", host: terminating, want: release},
		{name: "host namespace terminating, Delete", selfService: del, host: terminating, want: deleteNs},
		{name: "host namespace gone, Delete", selfService: del, host: gone, want: deleteNs},
		{name: "host namespace gone, the Tenant's Delete does not apply", tenantPolicy: del, host: gone, want: release},
		{name: "host namespace released: the claim is no longer the tenant's", selfService: del, host: func(w *world) {
			w.obs.Namespaces["team-dev"] = Namespace{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-dev", UID: "ns-uid-team-dev"}}}
		}, want: release},
		{name: "host namespace another Tenant's", selfService: del, host: func(w *world) {
			ns := w.obs.Namespaces["team-dev"].Object
			ns.Annotations = map[string]string{tenantryv1alpha1.TenantUIDAnnotation: "another-uid"}
		}, want: release},
		{name: "adopted, never deleted", selfService: del, host: gone,
			entry: func(e *tenantryv1alpha1.InventoryEntry) { e.Origin = tenantryv1alpha1.NamespaceAdopted }, want: release},
		{name: "not made for that claim (annotation)", selfService: del, host: gone,
			ns: func(ns *corev1.Namespace) { ns.Annotations[tenantryv1alpha1.ClaimAnnotation] = "team-dev/other" }, want: release},
		{name: "no claim annotation", selfService: del,
			ns: func(ns *corev1.Namespace) { delete(ns.Annotations, tenantryv1alpha1.ClaimAnnotation) }, want: release},
		{name: "Tenant deleted: the Tenant's Delete", tenantPolicy: del, tenantDeleted: true, want: deleteNs},
		{name: "Tenant deleted: the Tenant's Retain", selfService: del, tenantDeleted: true, want: release},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := selfServiceTenant(3)
			tn.Spec.SelfService.DeletionPolicy = tt.selfService
			tn.Spec.DeletionPolicy = tt.tenantPolicy
			w := converged(t, tn)
			c := claim("team-dev", "team-x", 0)
			w.obs.Namespaces["team-x"] = claimedNamespace(tn, c)
			entry := tenantryv1alpha1.InventoryEntry{Name: "team-x", UID: "ns-uid-team-x", Origin: tenantryv1alpha1.NamespaceCreated, Claim: "team-dev/team-x"}
			if tt.entry != nil {
				tt.entry(&entry)
			}
			w.obs.Inventory["team-x"] = entry
			if tt.ns != nil {
				tt.ns(w.obs.Namespaces["team-x"].Object)
			}
			if tt.host != nil {
				tt.host(w)
			}
			w.obs.Deleting = tt.tenantDeleted
			p := w.plan(tn)
			got := ""
			for _, s := range summary(p) {
				if s == deleteNs || s == release {
					got = s
				}
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q (%v)", got, tt.want, summary(p))
			}
		})
	}
}

// terminating marks the claim's own namespace, team-dev, as being deleted.
func terminating(w *world) {
	w.obs.Namespaces["team-dev"].Object.DeletionTimestamp = &metav1.Time{Time: claimEpoch}
}

// TestClaimedNamespaceDepartureReadsAnUnobservedHost: a claimed namespace
// entering the inventory in this pass has a host gather did not observe;
// it is read whole before anything is deleted.
func TestClaimedNamespaceDepartureReadsAnUnobservedHost(t *testing.T) {
	tn := selfServiceTenant(3)
	tn.Spec.SelfService.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	w := converged(t, tn)
	c := claim("team-other", "team-x", 0)
	w.obs.Namespaces["team-x"] = claimedNamespace(tn, c)
	w.obs.Inventory["team-x"] = tenantryv1alpha1.InventoryEntry{Name: "team-x", UID: "ns-uid-team-x", Origin: tenantryv1alpha1.NamespaceCreated, Claim: "team-other/team-x"}
	p := w.plan(tn)
	if !slices.Contains(p.Confirm, Ref{Kind: kinds.Namespace, Name: "team-other"}) {
		t.Fatalf("the host is read first: confirm %v", p.Confirm)
	}
	w.obs.Full[kinds.Key(kinds.Namespace, "", "team-other")] = nil
	if p := w.plan(tn); !hasAction(p, "delete Namespace/team-x") {
		t.Fatalf("the host is gone: Delete applies (%v)", summary(p))
	}
}

func TestClaimOutsideTheTenantIsIgnored(t *testing.T) {
	tn := selfServiceTenant(3)
	w := converged(t, tn)
	w.obs.Namespaces["elsewhere"] = Namespace{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}}
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{claim("elsewhere", "team-x", 0)}
	if p := w.plan(tn); len(p.Claims) != 0 || p.Changes() {
		t.Fatalf("a claim outside the tenant's namespaces: %v %v", p.Claims, summary(p))
	}
}

// TestHaltedTenantTellsItsClaims: a Tenant halted on its class decides no
// claim and makes no namespace, but each claim in its namespaces gets the
// Tenant's reason (a claim elsewhere is not its claim).
func TestHaltedTenantTellsItsClaims(t *testing.T) {
	tn := selfServiceTenant(3)
	w := converged(t, tn)
	w.obs.Namespaces["elsewhere"] = Namespace{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}}
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{claim("team-dev", "team-x", 0), claim("elsewhere", "team-y", 0)}
	tn.Spec.Class = "gone"
	p := Build(effective.WithClass(tn, nil, opts), w.obs, cfg)
	want := []status.ClaimVerdict{{Namespace: "team-dev", Name: "team-x", Generation: 1, Halted: true,
		Reason:  tenantryv1alpha1.ReasonClassNotFound,
		Message: "Tenant team: TenantClass gone does not exist; nothing of this spec was applied or changed until it does"}}
	if !p.Halted || p.Changes() || !slices.Equal(p.Claims, want) {
		t.Fatalf("halted %v actions %v claims %+v", p.Halted, summary(p), p.Claims)
	}
}
