package drift

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// The live objects here are built as the API server would store them after
// tenantry applied the desired object: same content, and a managedFields
// entry for tenantry covering exactly the applied fields. Scenarios then
// change the object the way another writer would, moving field ownership the
// way the server does.

// testOptions are the operator options the tests render with.
var testOptions = effective.Options{DefaultOwnerClusterRole: "admin"}

func testTenant() *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", UID: "uid-1"},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:         []tenantryv1alpha1.Subject{{Kind: "Group", Name: "team-a-admins"}},
			Namespaces:     []tenantryv1alpha1.TenantNamespace{{Name: "team-a-dev", Labels: map[string]tenantryv1alpha1.LabelValue{"env": "dev"}}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("0.5")}}},
			LimitRange: &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{"cpu": resource.MustParse("1")}}}},
		},
	}
}

// desiredObjects returns one desired object of every kind, and for each the
// path of a field that a scenario modifies.
func desiredObjects() map[string]struct {
	obj    render.Object
	field  Path
	hacked any
} {
	t := effective.Of(testTenant(), testOptions)
	out := map[string]struct {
		obj    render.Object
		field  Path
		hacked any
	}{}
	add := func(o render.Object, field Path, hacked any) {
		out[o.Kind] = struct {
			obj    render.Object
			field  Path
			hacked any
		}{o, field, hacked}
	}
	add(render.Namespace(t, t.Spec.Namespaces[0], t.Hostnames()), Path{"metadata", "labels", "env"}, "prod")
	for _, c := range render.Children(t, "team-a-dev", true) {
		switch c.Kind {
		case kinds.ResourceQuota:
			add(c, Path{"spec", "hard", "pods"}, "1000")
		case kinds.LimitRange:
			add(c, Path{"spec", "limits"}, []any{map[string]any{"type": "Container"}})
		case kinds.RoleBinding:
			add(c, Path{"subjects"}, []any{map[string]any{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}})
		case kinds.NetworkPolicy:
			add(c, Path{"spec", "ingress"}, []any{map[string]any{}})
		}
	}
	for _, c := range render.ClusterRBAC(t, []string{"team-a-dev"}) {
		switch c.Kind {
		case kinds.ClusterRole:
			add(c, Path{"rules"}, []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}})
		case kinds.ClusterRoleBinding:
			add(c, Path{"subjects"}, []any{map[string]any{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}})
		}
	}
	return out
}

func TestEvaluateEveryKind(t *testing.T) {
	scenarios := []struct {
		name     string
		mutate   func(s *drifttest.Stored, field Path, hacked any)
		live     bool // false: the object was deleted
		selected bool
		want     *Finding
		wantFld  func(field Path) []string
	}{{
		name: "in sync", live: true, selected: true,
	}, {
		name: "modified by intruder", live: true, selected: true,
		mutate:  func(s *drifttest.Stored, field Path, hacked any) { s.Write("intruder", field, hacked) },
		want:    &Finding{Reason: Modified, Managers: []string{"intruder"}},
		wantFld: func(field Path) []string { return []string{field.String()} },
	}, {
		name: "deleted", live: false,
		want: &Finding{Reason: Missing},
	}, {
		name: "relabelled: fell out of the label-filtered cache", live: true, selected: false,
		mutate:  func(s *drifttest.Stored, _ Path, _ any) { s.Remove(labelPath(tenantryv1alpha1.TenantLabel)) },
		want:    &Finding{Reason: Relabelled},
		wantFld: func(Path) []string { return []string{`metadata.labels["tenantry.io/tenant"]`} },
	}, {
		name: "managed-by label removed (nobody owns a removed field)", live: true, selected: true,
		mutate:  func(s *drifttest.Stored, _ Path, _ any) { s.Remove(labelPath(tenantryv1alpha1.ManagedByLabel)) },
		want:    &Finding{Reason: Modified},
		wantFld: func(Path) []string { return []string{`metadata.labels["app.kubernetes.io/managed-by"]`} },
	}, {
		name: "annotation added by someone else is not drift", live: true, selected: true,
		mutate: func(s *drifttest.Stored, _ Path, _ any) {
			s.Write("other", Path{"metadata", "annotations", "example.com/note"}, "hello")
		},
	}, {
		name: "label added by someone else is not drift", live: true, selected: true,
		mutate: func(s *drifttest.Stored, _ Path, _ any) { s.Write("other", Path{"metadata", "labels", "team"}, "x") },
	}}
	for kind, d := range desiredObjects() {
		for _, sc := range scenarios {
			t.Run(kind+"/"+sc.name, func(t *testing.T) {
				s := drifttest.Applied(t, d.obj)
				if sc.mutate != nil {
					sc.mutate(s, d.field, d.hacked)
				}
				obs := Observation{Desired: d.obj, Selected: sc.selected}
				if sc.live {
					obs.Live = s.Object(t)
				}
				f, found, err := Evaluate(obs)
				if err != nil {
					t.Fatal(err)
				}
				if sc.want == nil {
					if found {
						t.Fatalf("unexpected finding %+v", f)
					}
					return
				}
				if !found {
					t.Fatal("drift not found")
				}
				want := *sc.want
				want.Kind, want.Namespace, want.Name = d.obj.Kind, d.obj.Namespace, d.obj.Name
				if sc.wantFld != nil {
					want.Fields = sc.wantFld(d.field)
				}
				if !reflect.DeepEqual(f, want) {
					t.Fatalf("finding:\n got %+v\nwant %+v", f, want)
				}
			})
		}
	}
}

func TestDiffCanonicalQuantities(t *testing.T) {
	d := render.Children(effective.Of(testTenant(), testOptions), "team-a-dev", true)[0]
	s := drifttest.Applied(t, d)
	// The server stores "0.5" as "500m": no drift.
	s.Set(Path{"spec", "hard", "requests.cpu"}, "500m")
	if f, found, err := Evaluate(Observation{Desired: d, Live: s.Object(t), Selected: true}); err != nil || found {
		t.Fatalf("canonical quantity seen as drift: %+v %v", f, err)
	}
}

func TestPathString(t *testing.T) {
	for path, want := range map[string]string{
		strings.Join(Path{"spec", "hard", "pods"}, "|"):                     "spec.hard.pods",
		strings.Join(Path{"metadata", "labels", "tenantry.io/tenant"}, "|"): `metadata.labels["tenantry.io/tenant"]`,
	} {
		if got := Path(strings.Split(path, "|")).String(); got != want {
			t.Errorf("%q: got %q want %q", path, got, want)
		}
	}
}

func TestManagersSortedAndUnique(t *testing.T) {
	rq := &corev1.ResourceQuota{}
	rq.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "zeta", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:hard":{"f:pods":{}}}}`)},
		{Manager: "alpha", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:hard":{"f:cpu":{}}}}`)},
		{Manager: tenantryv1alpha1.FieldManager, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:hard":{"f:cpu":{}}}}`)},
		{Manager: "unrelated", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:x":{}}}}`)},
	})
	got := Managers(rq, []Path{{"spec", "hard", "pods"}, {"spec", "hard", "cpu"}})
	if want := []string{"alpha", "zeta"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Managers = %v, want %v", got, want)
	}
	if f := (Finding{Managers: got}); f.Manager() != "alpha,zeta" {
		t.Fatalf("Manager() = %q", f.Manager())
	}
}

// TestFingerprintAgreesWithEvaluate: a stored object never matches its
// desired fingerprint where Evaluate finds it drifted, on every kind and
// scenario; and an untouched one does match (else the cache would send every
// object to a direct read).
func TestFingerprintAgreesWithEvaluate(t *testing.T) {
	mutations := map[string]func(s *drifttest.Stored, field Path, hacked any){
		"untouched":            nil,
		"modified by intruder": func(s *drifttest.Stored, field Path, hacked any) { s.Write("intruder", field, hacked) },
		"managed-by removed":   func(s *drifttest.Stored, _ Path, _ any) { s.Remove(labelPath(tenantryv1alpha1.ManagedByLabel)) },
		"annotation by other":  func(s *drifttest.Stored, _ Path, _ any) { s.Write("other", Path{"metadata", "annotations", "x"}, "y") },
		"stale owned label": func(s *drifttest.Stored, _ Path, _ any) {
			s.Write(tenantryv1alpha1.FieldManager, Path{"metadata", "labels", "old"}, "v")
		},
		"value changed, owner kept": func(s *drifttest.Stored, field Path, hacked any) { s.Set(field, hacked) },
	}
	for kind, d := range desiredObjects() {
		for name, mutate := range mutations {
			t.Run(kind+"/"+name, func(t *testing.T) {
				s := drifttest.Applied(t, d.obj)
				if mutate != nil {
					mutate(s, d.field, d.hacked)
				}
				live := s.Object(t)
				_, drifted, err := Evaluate(Observation{Desired: d.obj, Live: live, Selected: true})
				if err != nil {
					t.Fatal(err)
				}
				quick := matches(t, d.obj, live)
				if quick && drifted {
					t.Fatal("the fingerprint matches where Evaluate finds drift")
				}
				if (name == "untouched" || name == "annotation by other") && !quick {
					t.Fatal("the fingerprint must match on an untouched object")
				}
				if name == "stale owned label" && quick {
					t.Fatal("a field tenantry owns but no longer wants must send the object to a full comparison")
				}
				if name == "value changed, owner kept" && quick {
					t.Fatal("a value that differs must be seen")
				}
			})
		}
	}
}

// matches: live's fingerprint is the desired one.
func matches(t *testing.T, d render.Object, live client.Object) bool {
	t.Helper()
	want, err := DesiredFingerprint(d)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := Fingerprint(live)
	return ok && got == want
}

// TestFingerprintNeedsOneApplyEntry: no entry of tenantry, or an Update entry
// beside its Apply entry, gives no fingerprint (the object is compared in full).
func TestFingerprintNeedsOneApplyEntry(t *testing.T) {
	for kind, d := range desiredObjects() {
		live := drifttest.Applied(t, d.obj).Object(t)
		if _, ok := Fingerprint(live); !ok {
			t.Fatalf("%s: applied object has no fingerprint", kind)
		}
		mfs := live.GetManagedFields()
		live.SetManagedFields(append(mfs, metav1.ManagedFieldsEntry{Manager: tenantryv1alpha1.FieldManager,
			Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{}}`)}))
		if _, ok := Fingerprint(live); ok {
			t.Fatalf("%s: an Update entry of tenantry beside its Apply entry must give no fingerprint", kind)
		}
		live.SetManagedFields(nil)
		if _, ok := Fingerprint(live); ok {
			t.Fatalf("%s: an object tenantry owns nothing of must give no fingerprint", kind)
		}
	}
}
