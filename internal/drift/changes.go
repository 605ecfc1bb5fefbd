package drift

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/render"
)

// Change is one field an apply of a desired object sets or removes.
type Change struct {
	Path Path
	// Old is the live value at Path, whoever owns it; nil when absent.
	Old any
	// New is the desired value at Path; nil when the apply removes it.
	New any
}

// Changes returns, sorted by path, what applying desired over live changes:
// the paths Diff finds between desired and the fields tenantry owns on live,
// each with its live and desired JSON values. The live value is read from
// the whole object, not from tenantry's fields alone, so that a field
// another manager took over shows what it holds now; a field that differs
// only in who owns it shows the same value on both sides.
func Changes(desired render.Object, live client.Object) ([]Change, error) {
	owned, err := Extract(live)
	if err != nil {
		return nil, err
	}
	paths, err := Diff(desired.Apply, owned)
	if err != nil || len(paths) == 0 {
		return nil, err
	}
	want, err := toMap(desired.Apply)
	if err != nil {
		return nil, err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return nil, err
	}
	// Through JSON, as Diff compares: quantities and numbers look the same
	// on both sides.
	var got map[string]any
	if err := roundTrip(content, &got); err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(paths))
	for _, p := range paths {
		out = append(out, Change{Path: p, Old: jsonValueAt(got, p), New: jsonValueAt(want, p)})
	}
	return out, nil
}

// jsonValueAt is the value at path in a JSON object; nil when absent.
func jsonValueAt(m map[string]any, path Path) any {
	var v any = m
	for _, seg := range path {
		node, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = node[seg]
	}
	return v
}

func roundTrip(in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
