package controller

import (
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/render"
)

// verifiedObjects remembers which version of each managed object was last
// found (or made) equal to the desired state, and from which inputs that
// desired state was rendered. The same object version checked against the
// same inputs is in sync without extracting and comparing it again: a
// resync, or the reconciles that follow a Tenant's creation, then cost no
// more than cache lookups.
//
// The desired state is a pure function of the Tenant's UID and generation,
// the operator's options (fixed for the process) and, for the per-tenant
// ClusterRole, the Tenant's Active namespaces; those make up the inputs.
type verifiedObjects struct {
	mu sync.Mutex
	// byTenant: tenant name -> object key -> mark; dropped with the Tenant.
	byTenant map[string]map[string]verifiedMark
}

type verifiedMark struct {
	resourceVersion string
	inputs          string
}

// inputsOf: the Tenant's inputs (one string per pass, shared by the marks of
// all its objects), plus the Active namespaces for the ClusterRole.
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
	m, ok := v.byTenant[s.tenant.Name][d.Key()]
	return ok && m.resourceVersion == live.GetResourceVersion() && m.inputs == inputsOf(s, d)
}

// mark records that version resourceVersion of d matches its desired state.
func (v *verifiedObjects) mark(s *scope, d render.Object, resourceVersion string) {
	if resourceVersion == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byTenant == nil {
		v.byTenant = map[string]map[string]verifiedMark{}
	}
	objs := v.byTenant[s.tenant.Name]
	if objs == nil {
		objs = map[string]verifiedMark{}
		v.byTenant[s.tenant.Name] = objs
	}
	objs[d.Key()] = verifiedMark{resourceVersion: resourceVersion, inputs: inputsOf(s, d)}
}

// forget drops a Tenant's marks.
func (v *verifiedObjects) forget(tenant string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.byTenant, tenant)
}
