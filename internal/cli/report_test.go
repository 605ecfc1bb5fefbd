package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// fakeSource is a cluster in memory: objects as the API server stores them.
type fakeSource struct {
	objects map[string]client.Object
	classes map[string]*tenantryv1alpha1.TenantClass
}

func (f fakeSource) TenantObjects(_ context.Context, k kinds.Kind, tenant string) ([]client.Object, error) {
	var out []client.Object
	for _, o := range f.objects {
		if kinds.Of(o).Name == k.Name && o.GetLabels()[tenantryv1alpha1.TenantLabel] == tenant {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f fakeSource) Namespace(_ context.Context, name string) (*corev1.Namespace, bool, error) {
	ns, _ := f.objects[kinds.Key(kinds.Namespace, "", name)].(*corev1.Namespace)
	return ns, false, nil
}

func (fakeSource) HostnameGrants(context.Context) (plan.Grants, error) { return nil, nil }

func (f fakeSource) Read(_ context.Context, kind, namespace, name string) (client.Object, error) {
	return f.objects[kinds.Key(kind, namespace, name)], nil
}

func (fakeSource) DryRun(context.Context, render.Object) error { return nil }

func (f fakeSource) Tenants(context.Context, []string) ([]tenantryv1alpha1.Tenant, error) {
	return nil, nil
}

func (fakeSource) Claims(context.Context, string) ([]tenantryv1alpha1.NamespaceClaim, error) {
	return nil, nil
}

func (f fakeSource) Class(_ context.Context, name string) (*tenantryv1alpha1.TenantClass, error) {
	return f.classes[name], nil
}

const uid = types.UID("uid-1")

// teamA is a Tenant with a quota, an extra network policy and namespaces.
func teamA(cpu string, namespaces ...string) *tenantryv1alpha1.Tenant {
	t := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", UID: uid, Generation: 1},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:         []tenantryv1alpha1.Subject{{Kind: "Group", Name: "team-a-admins"}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Hard: corev1.ResourceList{"requests.cpu": resource.MustParse(cpu)}}},
			DeletionPolicy: tenantryv1alpha1.DeletionPolicyDelete,
		},
	}
	for _, ns := range namespaces {
		t.Spec.Namespaces = append(t.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: ns})
	}
	return t
}

// reconciled is t as the operator leaves it (status) and the cluster it
// leaves: every object applied; origins as given, Created by default.
func reconciled(t *testing.T, tn *tenantryv1alpha1.Tenant, adopted ...string) (*tenantryv1alpha1.Tenant, fakeSource) {
	t.Helper()
	return reconciledIn(t, tn, nil, adopted...)
}

// reconciledIn is reconciled for a Tenant of class (nil for none).
func reconciledIn(t *testing.T, tn *tenantryv1alpha1.Tenant, class *tenantryv1alpha1.TenantClass, adopted ...string) (*tenantryv1alpha1.Tenant, fakeSource) {
	t.Helper()
	src := fakeSource{objects: map[string]client.Object{}, classes: map[string]*tenantryv1alpha1.TenantClass{}}
	e := effective.WithClass(tn, class, effective.Options{DefaultOwnerClusterRole: "admin"})
	for _, d := range plan.Initial(e) {
		obj := drifttest.Applied(t, d).Object(t)
		obj.SetUID(types.UID("uid-" + d.Name))
		src.objects[d.Key()] = obj
	}
	out := tn.DeepCopy()
	out.Status.ObservedGeneration = tn.Generation
	if class != nil {
		src.classes[class.Name] = class
		out.Status.ClassGeneration = class.Generation
	}
	for _, ns := range tn.Spec.Namespaces {
		origin := tenantryv1alpha1.NamespaceCreated
		for _, a := range adopted {
			if a == ns.Name {
				origin = tenantryv1alpha1.NamespaceAdopted
			}
		}
		out.Status.Namespaces = append(out.Status.Namespaces, tenantryv1alpha1.NamespaceStatus{Name: ns.Name, Phase: tenantryv1alpha1.NamespaceActive})
		out.Status.Inventory = append(out.Status.Inventory, tenantryv1alpha1.InventoryEntry{Name: ns.Name, UID: types.UID("uid-" + ns.Name), Origin: origin})
	}
	return out, src
}

func planReport(t *testing.T, src fakeSource, tn *tenantryv1alpha1.Tenant, state string) *Report {
	t.Helper()
	tr := &TenantReport{Name: tn.Name, State: state}
	cfg := plan.Config{AllowedClusterRoles: []string{"admin", "edit", "view"}}
	if err := tr.plan(context.Background(), src, src, tn, effective.Options{DefaultOwnerClusterRole: "admin"}, cfg, nil); err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	rep.add(tr)
	return rep
}

func text(t *testing.T, rep *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeText(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReportUnchanged: the plan of a reconciled Tenant with its own spec
// writes nothing; it exits 0.
func TestReportUnchanged(t *testing.T) {
	tn, src := reconciled(t, teamA("4", "team-a-dev"))
	rep := planReport(t, src, tn, StateUnchanged)
	want := "Tenant team-a (exists; spec unchanged)\n  no changes\nPlan: 0 to create, 0 to change, 0 to adopt, 0 to prune, 0 to release, 0 to DELETE.\n"
	if got := text(t, rep); got != want || rep.Summary.Changes {
		t.Fatalf("changes=%v, text:\n%s", rep.Summary.Changes, got)
	}
}

// TestReportEveryOp: a spec change that adds a namespace, drops one
// Tenantry created (deleted under Delete) and one it adopted (released),
// and raises a quota: every op is printed once, in order, the change with
// its old and new value, the deletion marked and repeated at the end.
func TestReportEveryOp(t *testing.T) {
	before := teamA("4", "team-a-dev", "team-a-old", "team-a-tmp")
	before.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{{Name: "web"}}}
	live, src := reconciled(t, before, "team-a-old")
	after := live.DeepCopy()
	after.Generation = 2
	after.Spec = teamA("8", "team-a-dev", "team-a-new").Spec
	rep := planReport(t, src, after, StateChanged)
	got := text(t, rep)
	t.Log("\n" + got)
	for _, want := range []string{
		"Tenant team-a (exists; spec changed)\n  + create Namespace/team-a-new\n",
		"  + create ResourceQuota/team-a-new/tenantry-compute\n",
		"  ~ change ResourceQuota/team-a-dev/tenantry-compute: spec.hard[\"requests.cpu\"] 4 → 8\n",
		"  ~ change ClusterRole/tenantry:tenant:team-a: rules ",
		"  - prune NetworkPolicy/team-a-dev/tenantry-web (no longer in the spec)\n",
		"  - prune ResourceQuota/team-a-old/tenantry-compute (no longer in the spec)\n",
		"  > release Namespace/team-a-old (no longer listed; Adopted namespaces are released, never deleted)\n",
		"  !! DELETE Namespace/team-a-tmp and everything in it: no objects found\n",
		"Plan: 4 to create, 2 to change, 0 to adopt, 5 to prune, 1 to release, 1 to DELETE.\n" +
			"WARNING: 1 namespace would be DELETED, with everything in it: team-a-tmp.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(got, "team-a-tmp/") {
		t.Error("the children of a deleted namespace go with it: no action of their own")
	}
	if strings.Index(got, "+ create") > strings.Index(got, "~ change") || strings.Index(got, "> release") > strings.Index(got, "!! DELETE") {
		t.Error("ops out of order")
	}
	var back Report
	var b bytes.Buffer
	if err := writeJSON(&b, rep); err != nil || json.Unmarshal(b.Bytes(), &back) != nil {
		t.Fatalf("JSON: %v\n%s", err, b.String())
	}
	if back.Summary != rep.Summary || len(back.Tenants[0].Actions) != len(rep.Tenants[0].Actions) {
		t.Fatalf("JSON round trip: %+v", back.Summary)
	}
}

// TestReportReplace: a binding whose roleRef changes is replaced, and the
// plan says so.
func TestReportReplace(t *testing.T) {
	tn, src := reconciled(t, teamA("4", "team-a-dev"))
	tn.Generation = 2
	tn.Spec.OwnerClusterRole = "edit"
	got := text(t, planReport(t, src, tn, StateChanged))
	want := "  ~ change RoleBinding/team-a-dev/tenantry-owner (replaced: roleRef cannot change in place, so it is deleted and created anew): " +
		"roleRef.name admin → edit\n"
	if !strings.Contains(got, want) {
		t.Fatalf("got:\n%s\nwant a line:\n%s", got, want)
	}
}

// TestReportStalledAndConflicts: a forbidden ClusterRole and a namespace of
// another tenant are shown, and nothing is bound or taken.
func TestReportStalledAndConflicts(t *testing.T) {
	tn, src := reconciled(t, teamA("4", "team-a-dev"))
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shared", Labels: map[string]string{tenantryv1alpha1.TenantLabel: "team-b"}}}
	src.objects[kinds.Key(kinds.Namespace, "", "shared")] = other
	tn.Generation = 2
	tn.Spec.OwnerClusterRole = "cluster-admin"
	tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "shared"})
	got := text(t, planReport(t, src, tn, StateChanged))
	for _, want := range []string{
		"  ! conflict Namespace/shared: namespace belongs to tenant team-b\n",
		"  ! stalled ClusterRoleNotAllowed: ClusterRole cluster-admin not allowed",
		"  ! stalled NamespaceConflict: Namespace conflict: shared (namespace belongs to tenant team-b)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "RoleBinding") || strings.Contains(got, "Namespace/shared\n") {
		t.Errorf("no binding is changed and the other tenant's namespace is not taken:\n%s", got)
	}
}

// TestReportClassChange: a new generation of a Tenant's class changes its
// objects as a spec change would, and says so.
func TestReportClassChange(t *testing.T) {
	gold := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 3}}
	gold.Spec.Defaults.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
		Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("4")}}}
	member := teamA("1", "team-a-dev")
	member.Spec.ResourceQuotas, member.Spec.Class = nil, "gold"
	live, src := reconciledIn(t, member, gold)
	if got := text(t, planReport(t, src, live, StateUnchanged)); !strings.Contains(got, "  no changes\n") {
		t.Fatalf("a member of an unchanged class: %s", got)
	}
	changed := gold.DeepCopy()
	changed.Generation = 4
	changed.Spec.Defaults.ResourceQuotas[0].Hard["requests.cpu"] = resource.MustParse("8")
	src.classes["gold"] = changed
	tr := &TenantReport{Name: "team-a", State: StateUnchanged, ClassChanged: "gold"}
	cfg := plan.Config{AllowedClusterRoles: []string{"admin"}}
	if err := tr.plan(context.Background(), src, src, live, effective.Options{DefaultOwnerClusterRole: "admin"}, cfg, nil); err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	rep.add(tr)
	want := "Tenant team-a (exists; spec unchanged; TenantClass gold changed)\n" +
		"  ~ change ResourceQuota/team-a-dev/tenantry-compute: spec.hard[\"requests.cpu\"] 4 → 8\n"
	if got := text(t, rep); !strings.HasPrefix(got, want) || !rep.Summary.Changes {
		t.Fatalf("got:\n%s\nwant it to start with:\n%s", got, want)
	}
}

func TestValueText(t *testing.T) {
	for in, want := range map[any]string{nil: "(none)", "8": "8", "": `""`, "a b": `"a b"`, 3.0: "3", true: "true"} {
		if got := valueText(in); got != want {
			t.Errorf("valueText(%#v) = %s, want %s", in, got, want)
		}
	}
	if got := valueText([]any{map[string]any{"k": "v"}}); got != `[{"k":"v"}]` {
		t.Errorf("a list is compact JSON, got %s", got)
	}
}
