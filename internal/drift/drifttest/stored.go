// Package drifttest builds objects as the API server stores them after
// Tenantry applied them (content and managedFields), and changes them the
// way other writers would, for tests of drift detection and planning.
package drifttest

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// Stored is an object as JSON plus its field managers' sets, mutable by
// scenarios, as the API server would keep it.
type Stored struct {
	kind    string
	content map[string]any
	sets    map[string]map[string]any // manager -> FieldsV1
}

// Applied is o as stored after field manager tenantry applied it: the same
// content, and a managedFields entry covering exactly the applied fields.
func Applied(t testing.TB, o render.Object) *Stored {
	t.Helper()
	data, err := json.Marshal(o.Apply)
	if err != nil {
		t.Fatal(err)
	}
	var content map[string]any
	if err := json.Unmarshal(data, &content); err != nil {
		t.Fatal(err)
	}
	set := fieldSet(content, true)
	return &Stored{kind: o.Kind, content: content, sets: map[string]map[string]any{tenantryv1alpha1.FieldManager: set}}
}

// fieldSet builds a FieldsV1 set for a JSON object: maps field by field,
// ownerReferences keyed by uid, every other list atomic. Identity fields
// (apiVersion, kind, name, namespace) are not tracked, as on the server.
func fieldSet(v map[string]any, top bool) map[string]any {
	set := map[string]any{}
	for k, val := range v {
		if top && (k == "apiVersion" || k == "kind") {
			continue
		}
		switch x := val.(type) {
		case map[string]any:
			sub := fieldSet(x, false)
			if k == "metadata" {
				delete(sub, "f:name")
				delete(sub, "f:namespace")
			} else {
				sub["."] = map[string]any{}
			}
			set["f:"+k] = sub
		case []any:
			if k == "ownerReferences" {
				refs := map[string]any{}
				for _, r := range x {
					ref := r.(map[string]any)
					key, _ := json.Marshal(map[string]any{"uid": ref["uid"]})
					item := fieldSet(ref, false)
					item["."] = map[string]any{}
					refs["k:"+string(key)] = item
				}
				set["f:"+k] = refs
				continue
			}
			set["f:"+k] = map[string]any{}
		default:
			set["f:"+k] = map[string]any{}
		}
	}
	return set
}

// Write sets path to value as manager with an Update: the manager takes
// ownership of the field, the previous owner loses it.
func (s *Stored) Write(manager string, path []string, value any) {
	setPath(s.content, path, value)
	for _, set := range s.sets {
		removePath(set, path)
	}
	if s.sets[manager] == nil {
		s.sets[manager] = map[string]any{}
	}
	node := s.sets[manager]
	for _, seg := range path {
		next, ok := node["f:"+seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			node["f:"+seg] = next
		}
		node = next
	}
}

// Remove deletes the field at path: nobody owns it any more.
func (s *Stored) Remove(path []string) {
	setPath(s.content, path, nil)
	for _, set := range s.sets {
		removePath(set, path)
	}
}

func setPath(m map[string]any, path []string, value any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	if value == nil {
		delete(m, path[len(path)-1])
		return
	}
	m[path[len(path)-1]] = value
}

func removePath(set map[string]any, path []string) {
	node := set
	for _, seg := range path[:len(path)-1] {
		next, ok := node["f:"+seg].(map[string]any)
		if !ok {
			return
		}
		node = next
	}
	delete(node, "f:"+path[len(path)-1])
}

// Object is the stored object as the API server would serve it.
func (s *Stored) Object(t testing.TB) client.Object {
	t.Helper()
	obj, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// Build returns the stored object as the API server would serve it.
func (s *Stored) Build() (client.Object, error) {
	obj := kinds.ByName(s.kind).New()
	data, _ := json.Marshal(s.content)
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, err
	}
	var mfs []metav1.ManagedFieldsEntry
	for _, m := range []string{tenantryv1alpha1.FieldManager, "intruder", "other"} {
		set, ok := s.sets[m]
		if !ok || len(set) == 0 {
			continue
		}
		raw, _ := json.Marshal(set)
		op := metav1.ManagedFieldsOperationUpdate
		if m == tenantryv1alpha1.FieldManager {
			op = metav1.ManagedFieldsOperationApply
		}
		mfs = append(mfs, metav1.ManagedFieldsEntry{Manager: m, Operation: op, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw))})
	}
	obj.SetManagedFields(mfs)
	return obj, nil
}

// Set changes the value at path, owners unchanged (an apply of another
// value by the same manager would look so).
func (s *Stored) Set(path []string, value any) { setPath(s.content, path, value) }

// Content is the object's JSON content, for scenarios to read.
func (s *Stored) Content() map[string]any { return s.content }
