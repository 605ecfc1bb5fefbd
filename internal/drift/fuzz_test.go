package drift

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/crdvalidation"
	"github.com/tenantry/tenantry/internal/drift/drifttest"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/test/tenantgen"
)

// FuzzEvaluate: for any admitted Tenant, any object rendered for it, and any
// sequence of writes by other managers, Evaluate never panics or fails, gives
// the same answer twice, finds nothing on an untouched object, finds a
// deletion or a relabelling as such, finds every changed value of a field
// Tenantry set, and a matching fingerprint never contradicts it.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte("tenant"), []byte{3, 2, 0, 5, 1, 9})
	f.Add([]byte{9, 9, 9, 9}, []byte{0, 0})
	f.Add([]byte{1, 2, 3}, []byte{7, 1})
	v, err := crdvalidation.Tenants()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tenantBytes, ops []byte) {
		u := tenantgen.Tenant(tenantBytes)
		if len(v.Admit(u)) > 0 {
			return
		}
		tn := &tenantryv1alpha1.Tenant{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, tn); err != nil {
			t.Fatal(err)
		}
		e := effective.Of(tn, testOptions)
		objs := append(render.ClusterRBAC(e, e.NamespaceNames()), render.Namespace(e, e.Spec.Namespaces[0], e.Hostnames()))
		objs = append(objs, render.Children(e, e.Spec.Namespaces[0].Name, true)...)
		op := opSource(ops)
		d := objs[op.next()%len(objs)]
		s := drifttest.Applied(t, d)

		obs := Observation{Desired: d, Selected: true}
		deleted := false
		var changed []Path // desired fields whose value another writer changed
		switch op.next() % 8 {
		case 0:
			deleted = true
		case 1: // relabelled: out of the tenant's label selector
			s.Write("intruder", labelPath(tenantryv1alpha1.TenantLabel), "other-tenant")
			obs.Selected = false
		default:
			changed = mutate(s, &op)
		}
		if !deleted {
			live, err := s.Build()
			if err != nil {
				return // a write of a value the typed object cannot hold
			}
			obs.Live = live
		}

		f1, found, err := Evaluate(obs)
		if err != nil {
			t.Fatalf("Evaluate %s: %v", d.Key(), err)
		}
		f2, found2, _ := Evaluate(obs)
		if found != found2 || !reflect.DeepEqual(f1, f2) {
			t.Fatalf("Evaluate is not deterministic: %+v / %+v", f1, f2)
		}
		switch {
		case obs.Live == nil:
			if !found || f1.Reason != Missing {
				t.Fatalf("deleted %s: got %+v (found %v)", d.Key(), f1, found)
			}
			return
		case !obs.Selected:
			if !found || f1.Reason != Relabelled {
				t.Fatalf("relabelled %s: got %+v (found %v)", d.Key(), f1, found)
			}
			return
		}
		if matches(t, d, obs.Live) && found {
			t.Fatalf("the fingerprint of %s matches where Evaluate finds %+v", d.Key(), f1)
		}
		if len(changed) == 0 && found && op.wrote == 0 {
			t.Fatalf("untouched %s reported as drift: %+v", d.Key(), f1)
		}
		if len(changed) > 0 {
			if !found || f1.Reason != Modified {
				t.Fatalf("%s: values changed at %v but Evaluate found %+v (found %v)", d.Key(), changed, f1, found)
			}
			for _, c := range changed {
				if !slices.ContainsFunc(f1.Fields, func(fld string) bool { return fld == c.String() || isPrefix(fld, c.String()) }) {
					t.Fatalf("%s: change at %s not in the finding's fields %v", d.Key(), c, f1.Fields)
				}
			}
		}
	})
}

// opReader hands out mutation decisions; 0 when the bytes run out.
type opReader struct {
	b     []byte
	wrote int // writes made by mutate
}

func opSource(b []byte) opReader { return opReader{b: b} }

func (r *opReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return int(c)
}

// mutate applies writes by other managers to leaf fields of the stored
// object and returns the desired fields whose value ended up different.
func mutate(s *drifttest.Stored, op *opReader) []Path {
	leaves := leafPaths(s.Content(), nil)
	if len(leaves) == 0 {
		return nil
	}
	desired := map[string]any{}
	for _, p := range leaves {
		desired[p.String()] = valueAt(s.Content(), p)
	}
	for range op.next() % 4 {
		p := leaves[op.next()%len(leaves)]
		switch op.next() % 3 {
		case 0:
			s.Write("intruder", p, hackedValue(valueAt(s.Content(), p)))
		case 1:
			s.Write("other", Path{"metadata", "annotations", "example.com/fuzz"}, "x")
		case 2:
			s.Write("other", Path{"metadata", "labels", fmt.Sprintf("fuzz-%d", op.next()%3)}, "x")
		}
		op.wrote++
	}
	var changed []Path
	for _, p := range leaves {
		if !reflect.DeepEqual(valueAt(s.Content(), p), desired[p.String()]) {
			changed = append(changed, p)
		}
	}
	return changed
}

// leafPaths lists the paths of the object's scalar and list values (lists
// are atomic), identity fields and owner references left out, sorted.
func leafPaths(m map[string]any, prefix Path) []Path {
	var out []Path
	for k, v := range m {
		p := append(slices.Clone(prefix), k)
		if len(prefix) == 0 && (k == "apiVersion" || k == "kind") ||
			len(prefix) == 1 && prefix[0] == "metadata" && (k == "name" || k == "namespace" || k == "ownerReferences") {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			out = append(out, leafPaths(sub, p)...)
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

func valueAt(m map[string]any, p Path) any {
	var cur any = m
	for _, seg := range p {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[seg]
	}
	return cur
}

// hackedValue is a different value of the same JSON type.
func hackedValue(v any) any {
	switch x := v.(type) {
	case string:
		return x + "-hacked"
	case float64:
		return x + 1
	case bool:
		return !x
	case []any:
		return []any{}
	}
	return v
}

func isPrefix(parent, child string) bool {
	return len(child) > len(parent) && child[:len(parent)] == parent
}
