package cache

import (
	"hash/maphash"
	"sync"
)

// Verified remembers which version of each managed object was last
// found (or made) equal to the desired state, and from which inputs that
// desired state was rendered: the hash of the Tenant's effective spec, plus,
// for the per-tenant ClusterRole, the Active namespaces (plan.Mark). The
// same object version checked against the same inputs is in sync without
// rendering its fingerprint again: a resync, or the reconciles that follow
// a Tenant's creation, then cost no more than cache lookups. Whatever the
// desired state comes to depend on is in the effective spec's hash, so a
// change of any input, with or without a new generation, clears the marks.
//
// A mark is three 64-bit hashes, of the object's key, of its version, and
// of its version with the inputs, so that thousands of tenants' marks take
// a few hundred kilobytes. A collision of keys is harmless (two objects
// never share a resourceVersion); one of versions would need a 2^-64 chance.
type Verified struct {
	mu sync.Mutex
	// byTenant: tenant name -> hash of the object key -> its mark.
	byTenant map[string]map[uint64]mark
}

type mark struct{ version, withInputs uint64 }

var verifiedSeed = maphash.MakeSeed()

func markOf(resourceVersion, inputs string) uint64 {
	return maphash.String(verifiedSeed, resourceVersion+"\x00"+inputs)
}

func keyOf(key string) uint64 { return maphash.String(verifiedSeed, key) }

// Lookup is the planner's view of a Tenant's marks.
func (v *Verified) Lookup(tenant string) func(key, rv, inputs string) bool {
	return func(key, rv, inputs string) bool { return v.InSync(tenant, key, rv, inputs) }
}

// inSync: version rv of the object at key was verified for the same inputs.
func (v *Verified) InSync(tenant, key, rv, inputs string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, ok := v.byTenant[tenant][keyOf(key)]
	return ok && m.withInputs == markOf(rv, inputs)
}

// Known says whether version rv of the object at key is one the operator
// wrote or verified, whatever the inputs: a watch event of such a version is
// the echo of the operator's own work, not someone else's change.
func (v *Verified) Known(tenant, key, rv string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, ok := v.byTenant[tenant][keyOf(key)]
	return ok && m.version == keyOf(rv)
}

// Mark records that version rv of the object at key matches the desired
// state of inputs.
func (v *Verified) Mark(tenant, key, rv, inputs string) {
	if rv == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byTenant == nil {
		v.byTenant = map[string]map[uint64]mark{}
	}
	objs := v.byTenant[tenant]
	if objs == nil {
		objs = map[uint64]mark{}
		v.byTenant[tenant] = objs
	}
	objs[keyOf(key)] = mark{version: keyOf(rv), withInputs: markOf(rv, inputs)}
}

// Forget drops a Tenant's marks.
func (v *Verified) Forget(tenant string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byTenant, tenant)
}

// Remembers says whether any mark of tenant is kept.
func (v *Verified) Remembers(tenant string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.byTenant[tenant]
	return ok
}
