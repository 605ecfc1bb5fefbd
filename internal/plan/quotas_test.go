package plan

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// tenantScoped is a Tenant whose 10 pods are for all its namespaces.
func tenantScoped(namespaces ...string) *tenantryv1alpha1.Tenant {
	tn := tenant(namespaces...)
	tn.Spec.ResourceQuotas[0].Scope = tenantryv1alpha1.QuotaScopeTenant
	return tn
}

func pods(n int64) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}
}

func quotaKey(ns string) string { return kinds.Key(kinds.ResourceQuota, ns, "tenantry-compute") }

// share stores ns's quota as Tenantry applied it with spec.hard spec, and
// the status the quota controller and admission keep: hard, used.
func (w *world) share(tn *tenantryv1alpha1.Tenant, ns string, spec, hard, used int64, rv string) client.Object {
	w.t.Helper()
	e := effective.Of(tn, opts)
	obj := drifttest.Applied(w.t, render.ResourceQuota(e, ns, tn.Spec.ResourceQuotas[0], pods(spec))).Object(w.t).(*corev1.ResourceQuota)
	obj.Status = corev1.ResourceQuotaStatus{Hard: pods(hard), Used: pods(used)}
	obj.SetResourceVersion(rv)
	slim, err := cache.Slim(obj.DeepCopy())
	if err != nil {
		w.t.Fatal(err)
	}
	w.obs.Objects[quotaKey(ns)] = slim.(client.Object)
	return obj
}

func writes(p *Plan, kind string) map[string]Action {
	out := map[string]Action{}
	for _, a := range p.Actions {
		if a.Object.Kind == kind {
			out[a.Object.Namespace] = a
		}
	}
	return out
}

func hardOf(t *testing.T, a Action) int64 {
	t.Helper()
	rq := drifttest.Applied(t, a.Object).Object(t).(*corev1.ResourceQuota)
	q := rq.Spec.Hard[corev1.ResourcePods]
	return q.Value()
}

func TestNewTenantScopeQuotaSplitsTheTotal(t *testing.T) {
	tn := tenantScoped("a", "b", "c")
	w := converged(t, tn)
	// The second plan of the first pass: the namespaces are made, nothing in them.
	w.obs.Status = tenantryv1alpha1.TenantStatus{}
	for key, obj := range w.obs.Objects {
		if obj.GetNamespace() != "" {
			delete(w.obs.Objects, key)
		}
	}
	p := w.plan(tn)
	if len(p.Confirm) > 0 {
		t.Fatalf("nothing was ever made, nothing to read: %v", p.Confirm)
	}
	got := writes(p, kinds.ResourceQuota)
	for ns, want := range map[string]int64{"a": 4, "b": 3, "c": 3} {
		if a, ok := got[ns]; !ok || hardOf(t, a) != want || a.ResourceVersion != "" {
			t.Errorf("quota in %s: %+v, want pods=%d, unconditional", ns, a, want)
		}
	}
	if rb := writes(p, kinds.RoleBinding); len(rb) > 0 {
		t.Fatalf("role bindings made before admission enforces the quota: %v", summary(p))
	}
	if len(p.Progressing) != 3 || !strings.Contains(p.Progressing[0], "namespace a waits for the quota controller to enforce ResourceQuota tenantry-compute") {
		t.Fatalf("progressing: %v", p.Progressing)
	}
	if len(p.Quotas) != 1 || p.Quotas[0].Name != "compute" || !p.Quotas[0].Hard.Pods().Equal(resource.MustParse("10")) {
		t.Fatalf("status.quotas: %+v", p.Quotas)
	}
	for _, st := range p.Namespaces {
		if st.Phase != tenantryv1alpha1.NamespacePending || !strings.HasPrefix(st.Message, "waiting for the quota controller") {
			t.Fatalf("a namespace whose owners wait is Pending: %+v", st)
		}
	}

	// The next pass: the status says so, the quota controller has synced
	// the shares. The role bindings are new, not drift.
	w.obs.Status = tenantryv1alpha1.TenantStatus{ObservedGeneration: tn.Generation, Namespaces: p.Namespaces}
	for ns, hard := range map[string]int64{"a": 4, "b": 3, "c": 3} {
		w.share(tn, ns, hard, hard, 0, "20")
	}
	p = w.plan(tn)
	rbs := writes(p, kinds.RoleBinding)
	if len(rbs) != 3 || rbs["a"].Op != OpApply || rbs["a"].Why != "new" || len(p.Progressing) > 0 {
		t.Fatalf("role bindings once the shares are enforced: %v progressing %v", summary(p), p.Progressing)
	}
	for _, st := range p.Namespaces {
		if st.Phase != tenantryv1alpha1.NamespaceActive {
			t.Fatalf("namespace %+v", st)
		}
	}
	if n := len(Initial(effective.Of(tn, opts))); n != 3*4+2 {
		t.Fatalf("Initial lists every object whatever it waits for: %d", n)
	}
}

func TestTenantScopeQuotaKeptWhileHealthy(t *testing.T) {
	tn := tenantScoped("a", "b", "c")
	w := converged(t, tn)
	w.share(tn, "a", 4, 4, 1, "11")
	w.share(tn, "b", 3, 3, 1, "12")
	w.share(tn, "c", 3, 3, 1, "13")
	p := w.plan(tn)
	if p.Changes() || len(p.Confirm) > 0 || len(p.Progressing) > 0 {
		t.Fatalf("a healthy split is rewritten: %v confirm %v progressing %v", summary(p), p.Confirm, p.Progressing)
	}
	if used := p.Quotas[0].Used[corev1.ResourcePods]; used.Value() != 3 {
		t.Fatalf("tenant-wide used = %s, want 3", used.String())
	}
}

// A namespace running out of its share gets more: the others shrink first,
// each shrink conditional on the version whose usage it was computed from;
// the growth waits until admission enforces the shrinks, and is made from
// fresh reads.
func TestTenantScopeQuotaMovesHeadroom(t *testing.T) {
	tn := tenantScoped("a", "b", "c")
	w := converged(t, tn)
	w.share(tn, "a", 4, 4, 4, "11")
	w.share(tn, "b", 3, 3, 0, "12")
	w.share(tn, "c", 3, 3, 0, "13")
	p := w.plan(tn)
	got := writes(p, kinds.ResourceQuota)
	if len(got) != 2 || len(p.Confirm) > 0 {
		t.Fatalf("want two shrinks and nothing to read, got %v confirm %v", summary(p), p.Confirm)
	}
	for ns, rv := range map[string]string{"b": "12", "c": "13"} {
		a := got[ns]
		if hardOf(t, a) != 1 || a.ResourceVersion != rv || !strings.HasPrefix(a.Why, "tenant quota share moved: pods 3→1") {
			t.Errorf("shrink in %s: hard %d rv %q why %q", ns, hardOf(t, a), a.ResourceVersion, a.Why)
		}
	}
	if first := p.Actions[0]; first.Object.Kind != kinds.ResourceQuota {
		t.Fatalf("shrinks come first: %v", summary(p))
	}

	// The quota controller enforced the shrinks: a grows, from fresh reads.
	w.share(tn, "b", 1, 1, 0, "14")
	w.share(tn, "c", 1, 1, 0, "15")
	p = w.plan(tn)
	if want := []string{"ResourceQuota/a/tenantry-compute", "ResourceQuota/b/tenantry-compute", "ResourceQuota/c/tenantry-compute"}; !slices.Equal(refKeys(p.Confirm), want) || p.Changes() && len(p.Confirm) == 0 {
		t.Fatalf("a growth is made from fresh reads: confirm %v", p.Confirm)
	}
	for _, ns := range []string{"a", "b", "c"} {
		full := w.obs.Objects[quotaKey(ns)]
		spec := map[string]int64{"a": 4, "b": 1, "c": 1}[ns]
		w.obs.Full[quotaKey(ns)] = w.share(tn, ns, spec, spec, map[string]int64{"a": 4}[ns], full.GetResourceVersion())
	}
	p = w.plan(tn)
	got = writes(p, kinds.ResourceQuota)
	if a, ok := got["a"]; len(got) != 1 || !ok || hardOf(t, a) != 8 || a.ResourceVersion != "" || len(p.Confirm) > 0 {
		t.Fatalf("want a grown to 8, unconditionally: %v confirm %v", summary(p), p.Confirm)
	}
}

// While a shrink is not yet enforced, the namespace still admits up to its
// old share: nothing grows into it.
func TestTenantScopeQuotaGrowthWaitsForShrinks(t *testing.T) {
	tn := tenantScoped("a", "b")
	w := converged(t, tn)
	w.share(tn, "a", 5, 5, 5, "11")
	w.share(tn, "b", 2, 5, 0, "12") // lowered, the quota controller not there yet
	p := w.plan(tn)
	got := writes(p, kinds.ResourceQuota)
	if _, grew := got["a"]; grew || len(p.Confirm) > 0 {
		t.Fatalf("grew into a share not yet lowered: %v %v", summary(p), p.Confirm)
	}
	if b := got["b"]; hardOf(t, b) != 1 || b.ResourceVersion != "12" {
		t.Fatalf("b goes on shrinking, conditionally: %v", summary(p))
	}
}

// A lowered total: shares shrink to at most their usage; nothing grows.
func TestTenantScopeQuotaLoweredTotal(t *testing.T) {
	tn := tenantScoped("a", "b")
	w := converged(t, tn)
	w.share(tn, "a", 5, 5, 4, "11")
	w.share(tn, "b", 5, 5, 2, "12")
	tn.Spec.ResourceQuotas[0].Hard = pods(3)
	tn.Generation++
	p := w.plan(tn)
	got := writes(p, kinds.ResourceQuota)
	if hardOf(t, got["a"]) != 2 || hardOf(t, got["b"]) != 1 || got["a"].ResourceVersion != "11" || got["b"].ResourceVersion != "12" {
		t.Fatalf("lowered total: %v", summary(p))
	}
}

func refKeys(refs []Ref) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Key())
	}
	slices.Sort(out)
	return out
}

// A claimed namespace is one of the tenant's: it takes a share, the spec
// namespace shrinks for it first, and the scope comes from a class default
// like any other field of a quota item.
func TestTenantScopeQuotaCoversClaimsAndClassDefaults(t *testing.T) {
	tn := selfServiceTenant(3)
	tn.Spec.ResourceQuotas = nil
	class := &tenantryv1alpha1.TenantClass{}
	class.Name, class.Generation = "gold", 1
	class.Spec.Defaults.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Scope: tenantryv1alpha1.QuotaScopeTenant, Hard: pods(10)}}
	tn.Spec.Class = "gold"
	e := effective.WithClass(tn, class, opts)
	if e.Spec.ResourceQuotas[0].Scope != tenantryv1alpha1.QuotaScopeTenant {
		t.Fatalf("the class's scope is not inherited: %+v", e.Spec.ResourceQuotas)
	}
	tnWithItem := tn.DeepCopy()
	tnWithItem.Spec.ResourceQuotas, tnWithItem.Spec.Class = e.Spec.ResourceQuotas, ""
	w := converged(t, tnWithItem)
	w.share(tnWithItem, "team-dev", 10, 10, 0, "11")
	w.obs.Claims = []tenantryv1alpha1.NamespaceClaim{claim("team-dev", "team-x", 0)}
	w.obs.Namespaces["team-x"] = Namespace{} // read: absent
	p := w.plan(tnWithItem)
	got := writes(p, kinds.ResourceQuota)
	dev, x := got["team-dev"], got["team-x"]
	if hardOf(t, dev) != 5 || dev.ResourceVersion != "11" {
		t.Fatalf("the spec namespace shrinks for the claimed one, conditionally: %v", summary(p))
	}
	if _, ok := got["team-x"]; !ok || hardOf(t, x) != 0 {
		t.Fatalf("the claimed namespace's quota is made at 0 until the shrink is enforced: %v", summary(p))
	}
}

// A namespace leaving the tenant keeps what its quota may still admit until
// it is gone: that is not handed to the others.
func TestTenantScopeQuotaLeavingNamespaceKeepsItsShare(t *testing.T) {
	tn := tenantScoped("a", "b", "c")
	w := converged(t, tn)
	w.share(tn, "a", 4, 4, 0, "11")
	w.share(tn, "b", 3, 3, 0, "12")
	w.share(tn, "c", 3, 3, 3, "13")
	tn.Spec.Namespaces = tn.Spec.Namespaces[:2] // c leaves, with 3 pods in it
	tn.Generation++
	p := w.plan(tn)
	got := writes(p, kinds.ResourceQuota)
	if len(got) != 0 || len(p.Confirm) > 0 {
		// a and b already hold the 7 that c leaves them.
		t.Fatalf("a and b grew into what c may still hold: %v %v", summary(p), p.Confirm)
	}
	delete(w.obs.Objects, quotaKey("c")) // gone
	p = w.plan(tn)
	if len(p.Confirm) != 2 {
		t.Fatalf("once c is gone, a and b grow, from fresh reads: %v %v", summary(p), p.Confirm)
	}
}
