package drift

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// Fingerprint summarises the fields field manager tenantry owns on a stored
// object: which fields they are and the values they hold. An object whose
// fingerprint equals DesiredFingerprint of its rendered form holds every
// value Tenantry wants, owned by Tenantry, and nothing stale of Tenantry's:
// it needs no write.
//
// It lets the operator's cache keep a few bytes per object instead of the
// object's content and managedFields: the fingerprint is taken once, when a
// watch delivers the object, and compared on every reconcile. When the two
// differ, Evaluate on a fresh read decides what drifted and who did it.
//
// Lists are taken whole. Values as desired but a field of them taken over by
// another manager with the same value may still match: the values are
// right, and any change that manager makes later changes the fingerprint.
// ok is false when tenantry owns nothing on the object (or its entry cannot
// be read): such an object never matches.
func Fingerprint(live client.Object) (fp uint64, ok bool) {
	owned, ok := OwnedFields(live)
	if !ok {
		return 0, false
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return 0, false
	}
	return FingerprintContent(content, owned)
}

// FingerprintContent is Fingerprint of an object given as its unstructured
// content and tenantry's managedFields set (OwnedFields), for a caller that
// converts the object itself (without its managedFields, which are large and
// not part of the fingerprint).
func FingerprintContent(content map[string]any, owned map[string]any) (uint64, bool) {
	projected, _ := project(content, owned).(map[string]any)
	return digest(projected)
}

// DesiredFingerprint is the Fingerprint of a stored object that holds exactly
// what d sets, all of it owned by field manager tenantry.
func DesiredFingerprint(d render.Object) (uint64, error) {
	want, err := toMap(d.Apply)
	if err != nil {
		return 0, err
	}
	// Identity is not owned: managedFields never list it.
	delete(want, "apiVersion")
	delete(want, "kind")
	if meta, ok := want["metadata"].(map[string]any); ok {
		delete(meta, "name")
		delete(meta, "namespace")
		if len(meta) == 0 {
			delete(want, "metadata")
		}
	}
	fp, _ := digest(want)
	return fp, nil
}

// project keeps, of a stored value, what the managedFields set covers: maps
// field by field, lists and leaves whole.
func project(value any, set map[string]any) any {
	m, isMap := value.(map[string]any)
	if !isMap {
		return value
	}
	fields := map[string]any{}
	for key, sub := range set {
		name, ok := strings.CutPrefix(key, "f:")
		if !ok {
			continue // "." (the map itself) or list element keys
		}
		v, present := m[name]
		if !present {
			continue
		}
		subSet, _ := sub.(map[string]any)
		if len(subSet) == 0 || onlySelf(subSet) {
			fields[name] = v // a leaf, or a map or list owned whole
			continue
		}
		fields[name] = project(v, subSet)
	}
	return fields
}

// onlySelf: a set that names only the field itself, not what is inside it.
func onlySelf(set map[string]any) bool {
	_, self := set["."]
	return self && len(set) == 1
}

// digest hashes a value's JSON. encoding/json sorts map keys, so equal maps
// give equal bytes, and writes a whole number the same whether it came from
// a typed object (int64) or from JSON (float64). 64 bits of SHA-256: one
// word per cached object, and no one can craft a change that keeps it.
func digest(v map[string]any) (uint64, bool) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, false
	}
	sum := sha256.Sum256(data)
	return binary.BigEndian.Uint64(sum[:8]), true
}

// OwnedFields is tenantry's managedFields set (FieldsV1) on live: its one
// Apply entry for the main resource. Anything else (no entry, an Update
// entry beside it) gives no answer, and the object goes to Evaluate.
func OwnedFields(live client.Object) (map[string]any, bool) {
	var set map[string]any
	found := false
	for _, mf := range live.GetManagedFields() {
		if mf.Manager != tenantryv1alpha1.FieldManager || mf.Subresource != "" {
			continue
		}
		if found || mf.Operation != "Apply" || mf.FieldsV1 == nil {
			return nil, false
		}
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set); err != nil {
			return nil, false
		}
		found = true
	}
	return set, found
}
