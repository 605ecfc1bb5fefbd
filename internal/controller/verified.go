package controller

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/render"
)

// verifiedObjects remembers which version of each managed object was last
// found (or made) equal to the desired state, and from which inputs that
// desired state was rendered. The same object version checked against the
// same inputs is in sync without rendering its fingerprint again: a resync,
// or the reconciles that follow a Tenant's creation, then cost no more than
// cache lookups.
//
// The desired state is a pure function of the Tenant's UID and generation,
// the operator's options (fixed for the process) and, for the per-tenant
// ClusterRole, the Tenant's Active namespaces; those make up the inputs.
//
// A mark is two 64-bit hashes, of the object's key and of its version with
// the inputs, so that thousands of tenants' marks take a few hundred
// kilobytes. A collision of keys is harmless (two objects never share a
// resourceVersion); one of versions would need a 2^-64 chance.
type verifiedObjects struct {
	mu sync.Mutex
	// byTenant: tenant name -> hash of the object key -> hash of version and inputs.
	byTenant map[string]map[uint64]uint64
}

var verifiedSeed = maphash.MakeSeed()

func markOf(resourceVersion, inputs string) uint64 {
	return maphash.String(verifiedSeed, resourceVersion+"\x00"+inputs)
}

func keyOf(d render.Object) uint64 {
	return maphash.String(verifiedSeed, d.Key())
}

// inputsOf: the Tenant's inputs (one string per pass), plus the Active
// namespaces for the ClusterRole.
func inputsOf(s *scope, d render.Object) string {
	if s.inputs == "" {
		s.inputs = string(s.tenant.UID) + "/" + strconv.FormatInt(s.tenant.Generation, 10)
	}
	if d.Kind == render.KindClusterRole {
		return s.inputs + "/" + strings.Join(s.active, ",")
	}
	return s.inputs
}

// inSync: live is the version last verified for the same inputs.
func (v *verifiedObjects) inSync(s *scope, d render.Object, live client.Object) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, ok := v.byTenant[s.tenant.Name][keyOf(d)]
	return ok && m == markOf(live.GetResourceVersion(), inputsOf(s, d))
}

// mark records that version resourceVersion of d matches its desired state.
func (v *verifiedObjects) mark(s *scope, d render.Object, resourceVersion string) {
	if resourceVersion == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byTenant == nil {
		v.byTenant = map[string]map[uint64]uint64{}
	}
	objs := v.byTenant[s.tenant.Name]
	if objs == nil {
		objs = map[uint64]uint64{}
		v.byTenant[s.tenant.Name] = objs
	}
	objs[keyOf(d)] = markOf(resourceVersion, inputsOf(s, d))
}

// forget drops a Tenant's marks.
func (v *verifiedObjects) forget(tenant string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byTenant, tenant)
}
