package drift

import (
	"encoding/json"
	"reflect"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// InSync is a cheaper test than Evaluate for the common case of an object
// nobody touched: every field of the desired object has the same value on the
// live one, and field manager tenantry owns nothing the desired object does
// not set (so no stale field waits to be removed). When it says true, the
// object needs no write; when it says false, Evaluate decides (and
// attributes). It avoids extracting the managed fields through
// structured-merge-diff, which allocates heavily for every object an
// operator compares after a restart.
//
// It may call an object in sync whose values are all as desired while
// another manager has taken ownership of one of them: the values are right,
// and a later change by that manager is seen as a value difference.
func InSync(d render.Object, live client.Object) bool {
	want, err := toMap(d.Apply)
	if err != nil {
		return false
	}
	data, err := json.Marshal(live)
	if err != nil {
		return false
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		return false
	}
	// Objects read from a cache carry no apiVersion and kind.
	delete(want, "apiVersion")
	delete(want, "kind")
	if !contains(got, want) {
		return false
	}
	owned, ok := ownedFieldSet(live)
	return ok && ownsOnly(owned, want)
}

// contains reports whether every field of want has the same value in got:
// maps field by field, everything else (lists included) whole.
func contains(got, want any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(got, want)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		if !ok || !contains(gv, wv) {
			return false
		}
	}
	return true
}

// ownedFieldSet is tenantry's managedFields set (FieldsV1) on live.
func ownedFieldSet(live client.Object) (map[string]any, bool) {
	for _, mf := range live.GetManagedFields() {
		if mf.Manager != tenantryv1alpha1.FieldManager || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set); err != nil {
			return nil, false
		}
		return set, true
	}
	return nil, false
}

// ownsOnly reports whether every field in the owned set is one that want
// sets. It descends through maps; at a list (or a leaf) of want it stops,
// since the list was compared whole.
func ownsOnly(owned map[string]any, want map[string]any) bool {
	for key, sub := range owned {
		if key == "." {
			continue
		}
		name, ok := strings.CutPrefix(key, "f:")
		if !ok {
			return false // list element keys below a map field: not what we render
		}
		wv, ok := want[name]
		if !ok {
			return false // a field we own but no longer want: it must be removed
		}
		subSet, _ := sub.(map[string]any)
		if wm, isMap := wv.(map[string]any); isMap && len(subSet) > 0 {
			if !ownsOnly(subSet, wm) {
				return false
			}
		}
	}
	return true
}
