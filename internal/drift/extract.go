package drift

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

// Extract returns the fields of live that field manager tenantry owns, as an
// apply configuration comparable with a rendered one. Fields others added are
// not in it, so they are never drift unless they took over one of ours.
func Extract(live client.Object) (runtime.ApplyConfiguration, error) {
	k, ok := kinds.Lookup(live)
	if !ok {
		return nil, fmt.Errorf("drift: no extractor for %T", live)
	}
	return k.Extract(live, tenantryv1alpha1.FieldManager)
}

// Managers returns the field managers other than tenantry whose managed
// fields cover any of paths on live, sorted and unique.
func Managers(live client.Object, paths []Path) []string {
	var out []string
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == tenantryv1alpha1.FieldManager || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set); err != nil {
			continue // an unreadable entry attributes nothing
		}
		for _, p := range paths {
			if covers(set, p) {
				out = append(out, mf.Manager)
				break
			}
		}
	}
	return sortedUnique(out)
}

// covers reports whether a managedFields set (FieldsV1: {"f:spec": {"f:hard":
// {"f:pods": {}}}}) holds the field at path or anything below it.
func covers(set map[string]any, path Path) bool {
	node := set
	for _, seg := range path {
		next, ok := node["f:"+seg].(map[string]any)
		if !ok {
			return false
		}
		node = next
	}
	return true
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
