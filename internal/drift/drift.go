// Package drift decides whether a managed object has drifted from what
// Tenantry wants, and who drifted it. It is pure: it reads the live object as
// gathered by the caller and never talks to the API server.
package drift

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// Reason says how an object drifted.
type Reason string

// Drift reasons, in the order they are checked.
const (
	// Missing: the object does not exist (it was deleted).
	Missing Reason = "Missing"
	// Relabelled: the object exists but lost the tenantry.io/tenant label, so
	// it fell out of Tenantry's label-filtered view.
	Relabelled Reason = "Relabelled"
	// Modified: fields Tenantry sets differ from the desired values.
	Modified Reason = "Modified"
)

// Observation is what the controller gathered about one desired object.
type Observation struct {
	// Desired is the rendered object.
	Desired render.Object
	// Live is the object as stored; nil when it does not exist.
	Live client.Object
	// Selected is true when Live carries this tenant's label (it is in the
	// label-filtered cache); false when it was found only by a direct read.
	Selected bool
}

// Finding is one drifted object.
type Finding struct {
	Kind      string
	Namespace string
	Name      string
	Reason    Reason
	// Fields are the paths of Tenantry's fields that differ, sorted.
	Fields []string
	// Managers are the field managers that last wrote the drifted fields,
	// sorted; empty when unknowable (a deletion, or a removed field).
	Managers []string
}

// Key identifies the drifted object, like render.Object.Key.
func (f Finding) Key() string { return kinds.Key(f.Kind, f.Namespace, f.Name) }

// Manager is the field managers joined for display; empty when unknown.
func (f Finding) Manager() string { return strings.Join(f.Managers, ",") }

// check is one rule of evaluation; found=false passes to the next rule.
type check func(o Observation) (f Finding, found bool, err error)

// Evaluate runs the checks in order and returns the first finding, or
// found=false when the live object matches what Tenantry wants.
func Evaluate(o Observation) (Finding, bool, error) {
	for _, c := range []check{checkMissing, checkRelabelled, checkModified} {
		f, found, err := c(o)
		if err != nil || found {
			f.Kind, f.Namespace, f.Name = o.Desired.Kind, o.Desired.Namespace, o.Desired.Name
			return f, found, err
		}
	}
	return Finding{}, false, nil
}

func checkMissing(o Observation) (Finding, bool, error) {
	return Finding{Reason: Missing}, o.Live == nil, nil
}

func checkRelabelled(o Observation) (Finding, bool, error) {
	if o.Selected {
		return Finding{}, false, nil
	}
	path := labelPath(tenantryv1alpha1.TenantLabel)
	return Finding{Reason: Relabelled, Fields: []string{path.String()}}, true, nil
}

func checkModified(o Observation) (Finding, bool, error) {
	owned, err := Extract(o.Live)
	if err != nil {
		return Finding{}, false, err
	}
	paths, err := Diff(o.Desired.Apply, owned)
	if err != nil || len(paths) == 0 {
		return Finding{}, false, err
	}
	f := Finding{Reason: Modified, Managers: Managers(o.Live, paths)}
	for _, p := range paths {
		f.Fields = append(f.Fields, p.String())
	}
	return f, true, nil
}

// Path is the location of a field, one segment per map key.
type Path []string

// String renders a path as spec.hard.pods, quoting keys that hold dots or
// slashes: metadata.labels["tenantry.io/tenant"].
func (p Path) String() string {
	var b strings.Builder
	for i, seg := range p {
		switch {
		case strings.ContainsAny(seg, "./"):
			fmt.Fprintf(&b, "[%q]", seg)
		case i > 0:
			b.WriteString("." + seg)
		default:
			b.WriteString(seg)
		}
	}
	return b.String()
}

func labelPath(key string) Path { return Path{"metadata", "labels", key} }

// Diff compares a desired apply configuration with the one extracted from the
// live object, as JSON: quantities are canonical there ("0.5" and "500m" are
// both 500m) and empty values are gone, as on the server. It returns the
// paths that differ, sorted; maps are compared key by key, lists whole.
func Diff(desired, owned runtime.ApplyConfiguration) ([]Path, error) {
	d, err := toMap(desired)
	if err != nil {
		return nil, err
	}
	o, err := toMap(owned)
	if err != nil {
		return nil, err
	}
	var paths []Path
	diffValue(nil, d, o, &paths)
	slices.SortFunc(paths, func(a, b Path) int { return strings.Compare(a.String(), b.String()) })
	return paths, nil
}

func toMap(ac runtime.ApplyConfiguration) (map[string]any, error) {
	out := map[string]any{}
	if ac == nil {
		return out, nil
	}
	data, err := json.Marshal(ac)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", ac, err)
	}
	return out, json.Unmarshal(data, &out)
}

func diffValue(path Path, want, got any, out *[]Path) {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	// A map on one side and nothing on the other: descend, so the path names
	// the fields that are missing, not just their parent.
	if wok && got == nil {
		gm, gok = map[string]any{}, true
	}
	if gok && want == nil {
		wm, wok = map[string]any{}, true
	}
	if wok && gok {
		keys := make([]string, 0, len(wm)+len(gm))
		for k := range wm {
			keys = append(keys, k)
		}
		for k := range gm {
			if _, ok := wm[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			diffValue(append(slices.Clip(path), k), wm[k], gm[k], out)
		}
		return
	}
	if !jsonEqual(want, got) {
		*out = append(*out, path)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
