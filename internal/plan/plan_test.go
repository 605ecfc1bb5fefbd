package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

var (
	opts = effective.Options{DefaultOwnerClusterRole: "admin"}
	cfg  = Config{AllowedClusterRoles: []string{"admin", "edit", "view"}, OperatorNamespace: "tenantry-system"}
)

// tenant is a Tenant with a quota, listing namespaces, at generation 2.
func tenant(namespaces ...string) *tenantryv1alpha1.Tenant {
	t := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "team", UID: "uid-team", Generation: 2}}
	t.Spec.Owners = []tenantryv1alpha1.Subject{{Kind: "Group", Name: "team-admins"}}
	t.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("10")}}}
	for _, ns := range namespaces {
		t.Spec.Namespaces = append(t.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
	}
	return t
}

// world is a cluster in which the last pass applied t fully: every object
// stored as Tenantry applied it, the status Active with a Created inventory.
type world struct {
	t   *testing.T
	obs *Observed
}

func converged(t *testing.T, tn *tenantryv1alpha1.Tenant) *world {
	t.Helper()
	e := effective.Of(tn, opts)
	w := &world{t: t, obs: &Observed{
		Status:     tenantryv1alpha1.TenantStatus{ObservedGeneration: tn.Generation},
		Namespaces: map[string]Namespace{}, Inventory: map[string]tenantryv1alpha1.InventoryEntry{},
		Objects: map[string]client.Object{}, Full: map[string]client.Object{}, Refused: map[string]string{},
	}}
	for _, d := range Initial(e) {
		obj := drifttest.Applied(t, d).Object(t)
		obj.SetResourceVersion("7")
		if d.Kind == kinds.Namespace {
			obj.SetUID(types.UID("ns-uid-" + d.Name))
			w.obs.Namespaces[d.Name] = Namespace{Object: obj.(*corev1.Namespace), Cached: true}
			w.obs.Inventory[d.Name] = tenantryv1alpha1.InventoryEntry{Name: d.Name, UID: obj.GetUID(), Origin: tenantryv1alpha1.NamespaceCreated}
			w.obs.Status.Namespaces = append(w.obs.Status.Namespaces, tenantryv1alpha1.NamespaceStatus{Name: d.Name, Phase: tenantryv1alpha1.NamespaceActive})
			continue
		}
		w.obs.Objects[d.Key()] = obj
	}
	return w
}

func (w *world) plan(tn *tenantryv1alpha1.Tenant) *Plan {
	return Build(effective.Of(tn, opts), w.obs, cfg)
}

// summary is a plan's writes, one "op key" each, in order.
func summary(p *Plan) []string {
	out := make([]string, 0, len(p.Actions))
	for _, a := range p.Actions {
		out = append(out, string(a.Op)+" "+a.Key())
	}
	return out
}

func TestNewTenantCreatesEverythingInOrder(t *testing.T) {
	tn := tenant("team-dev", "team-prod")
	p := Build(effective.Of(tn, opts), &Observed{}, cfg)
	want := []string{
		"apply Namespace/team-dev", "apply Namespace/team-prod",
		"apply ResourceQuota/team-dev/tenantry-compute", "apply RoleBinding/team-dev/tenantry-owner", "apply NetworkPolicy/team-dev/tenantry-isolation",
		"apply ResourceQuota/team-prod/tenantry-compute", "apply RoleBinding/team-prod/tenantry-owner", "apply NetworkPolicy/team-prod/tenantry-isolation",
		"apply ClusterRole/tenantry:tenant:team", "apply ClusterRoleBinding/tenantry:tenant:team",
	}
	if got := summary(p); !slices.Equal(got, want) {
		t.Fatalf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range p.NamespaceActions() {
		if !a.Created || a.Exists || a.Why != "new" {
			t.Errorf("%s: a new namespace is created, not updated: %+v", a.Key(), a)
		}
	}
	if !slices.Equal(p.Active, []string{"team-dev", "team-prod"}) || len(p.Confirm) > 0 || p.InPlace != 0 || len(p.Stalled) > 0 {
		t.Fatalf("active %v confirm %v inPlace %d stalled %v", p.Active, p.Confirm, p.InPlace, p.Stalled)
	}
	if len(Initial(effective.Of(tn, opts))) != len(want) {
		t.Fatal("Initial is the new Tenant's plan")
	}
	tn.Generation = 0 // as read from a file: still every object, cluster RBAC included
	if got := Initial(effective.Of(tn, opts)); len(got) != len(want) {
		t.Fatalf("Initial of a Tenant without a generation: %d objects, want %d", len(got), len(want))
	}
}

func TestConvergedTenantNeedsNoWrite(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tn)
	p := w.plan(tn)
	if p.Changes() || len(p.Confirm) > 0 || len(p.Reports) > 0 || len(p.Conflicts) > 0 {
		t.Fatalf("a converged Tenant plans %v, confirms %v, reports %v, conflicts %v", summary(p), p.Confirm, p.Reports, p.Conflicts)
	}
	if want := len(Initial(effective.Of(tn, opts))); p.InPlace != want || len(p.Marks) != want {
		t.Fatalf("in place %d, marks %d, want %d", p.InPlace, len(p.Marks), want)
	}
	// Slim cached copies with the desired fingerprint are in sync too, and
	// a version already verified for these inputs costs no fingerprint.
	for key, obj := range w.obs.Objects {
		slim, _ := cache.Slim(obj.DeepCopyObject())
		w.obs.Objects[key] = slim.(client.Object)
	}
	if p := w.plan(tn); p.Changes() || len(p.Confirm) > 0 {
		t.Fatalf("slim copies: %v %v", summary(p), p.Confirm)
	}
	w.obs.Verified = func(string, string, string) bool { return true }
	if p := w.plan(tn); p.Changes() || len(p.Marks) != 1 { // only the namespace, read whole, is marked
		t.Fatalf("verified: %v, %d marks", summary(p), len(p.Marks))
	}
}

func TestMarksAreKeyedByTheEffectiveSpec(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tn)
	p := w.plan(tn)
	changed := tenant("team-dev")
	changed.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport // same objects, another spec
	q := w.plan(changed)
	if p.Inputs == q.Inputs {
		t.Fatal("another spec, same inputs hash")
	}
	for _, m := range q.Marks {
		if strings.HasPrefix(m.Key, "ClusterRole") {
			if m.Inputs != q.Inputs+"/team-dev" {
				t.Fatalf("the cluster RBAC's inputs name the Active namespaces: %q", m.Inputs)
			}
		} else if m.Inputs != q.Inputs {
			t.Fatalf("%s marked for %q, not the effective spec %q", m.Key, m.Inputs, q.Inputs)
		}
	}
}

func TestSpecChangeUpdatesOnlyWhatChanged(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tn)
	tn.Generation = 3
	tn.Spec.ResourceQuotas[0].Hard["pods"] = resource.MustParse("20")
	p := w.plan(tn)
	if got := summary(p); !slices.Equal(got, []string{"apply ResourceQuota/team-dev/tenantry-compute"}) {
		t.Fatalf("actions %v", got)
	}
	if a := p.Actions[0]; a.Why != "spec changed" || a.Finding == nil || !slices.Equal(a.Finding.Fields, []string{"spec.hard.pods"}) {
		t.Fatalf("why %q finding %+v", a.Why, a.Finding)
	}
}

func TestDrift(t *testing.T) {
	const key = "ResourceQuota/team-dev/tenantry-compute"
	tn := tenant("team-dev")
	for _, report := range []bool{false, true} {
		w := converged(t, tn)
		delete(w.obs.Objects, key) // deleted by someone: gone from the cache
		if report {
			tn.Spec.DriftPolicy = tenantryv1alpha1.DriftPolicyReport
		}
		p := w.plan(tn)
		if len(p.Confirm) != 1 || p.Confirm[0].Key() != key || p.Changes() {
			t.Fatalf("a missing object that should exist is confirmed first: %v %v", p.Confirm, summary(p))
		}
		w.obs.Full[key] = nil // the API server has none either
		p = w.plan(tn)
		switch {
		case report:
			if p.Changes() || len(p.Reports) != 1 || p.Reports[0].Finding.Reason != drift.Missing || !p.Reports[0].Record {
				t.Fatalf("Report: %v %+v", summary(p), p.Reports)
			}
		default:
			if got := summary(p); !slices.Equal(got, []string{"correct " + key}) || p.Actions[0].Finding.Reason != drift.Missing || p.Actions[0].Exists {
				t.Fatalf("Correct: %v %+v", got, p.Actions)
			}
		}
	}
}

func TestDepartingNamespaces(t *testing.T) {
	tests := []struct {
		name   string
		policy tenantryv1alpha1.DeletionPolicy
		origin tenantryv1alpha1.NamespaceOrigin
		want   []string
	}{
		{"created, Delete: deleted with its content", tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.NamespaceCreated,
			[]string{"apply ClusterRole/tenantry:tenant:team", "delete Namespace/team-old"}},
		{"created, Retain: its children pruned, then released", tenantryv1alpha1.DeletionPolicyRetain, tenantryv1alpha1.NamespaceCreated,
			[]string{"apply ClusterRole/tenantry:tenant:team", "delete NetworkPolicy/team-old/tenantry-isolation",
				"delete ResourceQuota/team-old/tenantry-compute", "delete RoleBinding/team-old/tenantry-owner", "release Namespace/team-old"}},
		{"adopted, Delete: released, never deleted", tenantryv1alpha1.DeletionPolicyDelete, tenantryv1alpha1.NamespaceAdopted,
			[]string{"apply ClusterRole/tenantry:tenant:team", "delete NetworkPolicy/team-old/tenantry-isolation",
				"delete ResourceQuota/team-old/tenantry-compute", "delete RoleBinding/team-old/tenantry-owner", "release Namespace/team-old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := converged(t, tenant("team-dev", "team-old"))
			e := w.obs.Inventory["team-old"]
			e.Origin = tt.origin
			w.obs.Inventory["team-old"] = e
			tn := tenant("team-dev")
			tn.Generation = 3
			tn.Spec.DeletionPolicy = tt.policy
			p := w.plan(tn)
			if got := summary(p); !slices.Equal(got, tt.want) {
				t.Fatalf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, a := range p.Actions {
				if a.Op == OpDelete && a.Target.Kind == kinds.Namespace && a.Target.UID != "ns-uid-team-old" {
					t.Fatalf("a namespace deletion is pinned to the inventory's UID: %+v", a.Target)
				}
			}
		})
	}
}

func TestDeletedTenant(t *testing.T) {
	for _, policy := range []tenantryv1alpha1.DeletionPolicy{tenantryv1alpha1.DeletionPolicyRetain, tenantryv1alpha1.DeletionPolicyDelete} {
		tn := tenant("team-dev")
		tn.Spec.DeletionPolicy = policy
		w := converged(t, tn)
		w.obs.Deleting = true
		p := w.plan(tn)
		deletesNamespace := slices.Contains(summary(p), "delete Namespace/team-dev")
		if deletesNamespace != (policy == tenantryv1alpha1.DeletionPolicyDelete) || p.Finalize == deletesNamespace {
			t.Fatalf("%s: %v finalize=%v progressing=%v", policy, summary(p), p.Finalize, p.Progressing)
		}
		if !slices.Contains(summary(p), "delete ClusterRole/tenantry:tenant:team") {
			t.Fatalf("%s: cluster RBAC goes with the Tenant: %v", policy, summary(p))
		}
	}
}

func TestWhatIsNotProvenOursIsNeverTouched(t *testing.T) {
	tn := tenant("team-dev", "theirs")
	w := converged(t, tenant("team-dev"))
	w.obs.Namespaces["theirs"] = Namespace{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs",
		Labels: map[string]string{tenantryv1alpha1.TenantLabel: "other"}}}, Cached: true}
	// A child labelled ours (forged), made for no Tenant of ours.
	forged := drifttest.Applied(t, render.Children(effective.Of(tenant("team-dev"), opts), "team-dev", true)[0]).Object(t)
	forged.SetName("tenantry-forged")
	forged.SetOwnerReferences(nil)
	w.obs.Objects[kinds.KeyOf(forged)] = forged
	p := w.plan(tn)
	for _, a := range p.Actions {
		if strings.Contains(a.Key(), "theirs") || strings.Contains(a.Key(), "forged") {
			t.Fatalf("touched %s", a.Key())
		}
	}
	if len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonNamespaceConflict ||
		p.Stalled[0].Message != "Namespace conflict: theirs (namespace belongs to tenant other)" {
		t.Fatalf("stalled %+v", p.Stalled)
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].Name != "tenantry-forged" {
		t.Fatalf("conflicts %+v", p.Conflicts)
	}
	if !slices.Equal(p.Active, []string{"team-dev"}) {
		t.Fatalf("the ClusterRole must name only the tenant's namespaces: %v", p.Active)
	}
}

func TestForbiddenClusterRoleBindsNothing(t *testing.T) {
	tn := tenant("team-dev")
	w := converged(t, tn)
	tn.Generation = 3
	tn.Spec.OwnerClusterRole = "cluster-admin"
	p := w.plan(tn)
	if p.Changes() {
		t.Fatalf("no binding is created, changed or pruned: %v", summary(p))
	}
	if len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonClusterRoleNotAllowed {
		t.Fatalf("stalled %+v", p.Stalled)
	}
	if got := ForbiddenClusterRoles(effective.Of(tn, opts), cfg.AllowedClusterRoles); !slices.Equal(got, []string{"cluster-admin"}) {
		t.Fatalf("forbidden %v", got)
	}
}

func TestRefusedSpecHaltsEverything(t *testing.T) {
	tn := tenant("team-dev", "team-new")
	w := converged(t, tenant("team-dev"))
	w.obs.Preflight = []string{"ResourceQuota tenantry-compute: spec.hard[bad]: Invalid value"}
	p := w.plan(tn)
	if !p.Halted || p.Changes() || len(p.Stalled) != 1 || p.Stalled[0].Reason != tenantryv1alpha1.ReasonInvalidSpec ||
		!strings.HasSuffix(p.Stalled[0].Message, "; nothing of this spec was applied") {
		t.Fatalf("halted %v actions %v stalled %+v", p.Halted, summary(p), p.Stalled)
	}
	if !NeedsPreflight(effective.Of(tn, opts), tenantryv1alpha1.TenantStatus{ObservedGeneration: 1}) ||
		NeedsPreflight(effective.Of(tn, opts), tenantryv1alpha1.TenantStatus{ObservedGeneration: 2}) {
		t.Fatal("a spec is dry-run until a pass applied it")
	}
}

func TestRefusedNamespaceWaitsAlone(t *testing.T) {
	tn := tenant("team-dev", "team-new")
	w := converged(t, tenant("team-dev"))
	w.obs.Namespaces["team-new"] = Namespace{}
	w.obs.Refused["team-new"] = "admission webhook said no"
	p := w.plan(tn)
	for _, a := range p.Actions {
		if strings.Contains(a.Key(), "team-new") {
			t.Fatalf("nothing is made in a refused namespace: %s", a.Key())
		}
	}
	want := tenantryv1alpha1.NamespaceStatus{Name: "team-new", Phase: tenantryv1alpha1.NamespacePending, Message: "the API server refused the namespace: admission webhook said no"}
	if p.Namespaces[1] != want || !slices.Equal(p.Active, []string{"team-dev"}) {
		t.Fatalf("namespaces %+v active %v", p.Namespaces, p.Active)
	}
}

func TestInventoryNeedsPositiveEvidence(t *testing.T) {
	for _, c := range []struct {
		name     string
		managers []string
		record   bool
		want     tenantryv1alpha1.NamespaceOrigin
	}{
		{"only Tenantry ever wrote it: created", []string{"tenantry"}, false, tenantryv1alpha1.NamespaceCreated},
		{"someone else wrote it: adopted", []string{"kubectl-create", "tenantry"}, false, tenantryv1alpha1.NamespaceAdopted},
		{"an adoption record: adopted", []string{"tenantry"}, true, tenantryv1alpha1.NamespaceAdopted},
	} {
		t.Run(c.name, func(t *testing.T) {
			tn := tenant("team-dev")
			w := converged(t, tn)
			delete(w.obs.Inventory, "team-dev") // a pass ended before its status write
			if p := w.plan(tn); len(p.Confirm) != 1 || p.Confirm[0].Key() != "Namespace/team-dev" {
				t.Fatalf("the origin is read whole first: %v", p.Confirm)
			}
			full := w.obs.Namespaces["team-dev"].Object.DeepCopy()
			full.ManagedFields = nil
			for _, m := range c.managers {
				full.ManagedFields = append(full.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
			}
			if c.record {
				full.Annotations[tenantryv1alpha1.AdoptedAnnotation] = "{}"
			}
			w.obs.Full["Namespace/team-dev"] = full
			p := w.plan(tn)
			if got := p.Inventory["team-dev"]; got.Origin != c.want || got.UID != full.UID {
				t.Fatalf("inventory %+v, want %s", got, c.want)
			}
		})
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	tn := tenant("a", "b", "c")
	w := converged(t, tenant("a", "b", "d"))
	first := fmt.Sprint(summary(w.plan(tn)))
	for range 20 {
		if again := fmt.Sprint(summary(w.plan(tn))); again != first {
			t.Fatalf("plans differ:\n%s\n%s", first, again)
		}
	}
}
