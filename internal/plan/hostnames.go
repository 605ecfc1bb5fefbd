package plan

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
)

// HostnameClaim is what another Tenant asks for of the hostnames: the
// planner's observed input for deciding who holds a hostname.
type HostnameClaim struct {
	Tenant    string
	UID       types.UID
	Created   metav1.Time
	Hostnames []string
}

// ClaimOf is the hostname claim of a Tenant.
func ClaimOf(t *tenantryv1alpha1.Tenant) HostnameClaim {
	return HostnameClaim{Tenant: t.Name, UID: t.UID, Created: t.CreationTimestamp, Hostnames: effective.Hostnames(&t.Spec)}
}

// HostnameParent is the domain a hostname sits in: b.example.com for
// a.b.example.com and for *.b.example.com. Two hostnames overlap only when
// their parents are equal, so Tenants are indexed by it.
func HostnameParent(h string) string {
	_, parent, _ := strings.Cut(h, ".")
	return parent
}

// HostnamesOverlap: one Ingress host could be served under both: the same
// name, or a "*." wildcard covering the other (one label below its parent).
func HostnamesOverlap(a, b string) bool {
	return a == b || covers(a, b) || covers(b, a)
}

func covers(wildcard, h string) bool {
	return strings.HasPrefix(wildcard, "*.") && !strings.HasPrefix(h, "*.") &&
		strings.Contains(h, ".") && HostnameParent(h) == wildcard[2:]
}

// earlier orders Tenants by who may take a hostname nobody holds first:
// the older creationTimestamp, then the smaller name.
func earlier(a, b HostnameClaim) bool {
	if !a.Created.Equal(&b.Created) {
		return a.Created.Before(&b.Created)
	}
	return a.Tenant < b.Tenant
}

// HostnameConflict is one hostname not granted: the Tenant that holds it
// (or, while nobody does, asked for it first), and its hostname that
// overlaps.
type HostnameConflict struct {
	Hostname, Tenant, Theirs string
}

// GrantHostnames decides which of e's hostnames it holds, given the grant
// table in place (held) and the other Tenants' claims. A grant is stable: a
// Tenant keeps a hostname it holds whatever the age of a later claimant, so
// no Tenant takes another's hostname by editing its spec. For each hostname:
//  1. another Tenant still asking for an overlapping one and holding it
//     keeps it (if both hold overlapping ones, which only a hand-edited
//     table can make, the earlier);
//  2. else a hostname e holds stays e's;
//  3. else (nobody holds it) an earlier Tenant asking for an overlapping
//     one, granted or not, goes first, so a grant never depends on a chain
//     of other Tenants;
//  4. else it is e's.
//
// An entry of held whose Tenant no longer asks for it counts for nothing.
// Pure; claims may include e itself and Tenants that ask for nothing.
func GrantHostnames(e *effective.Tenant, created metav1.Time, claims []HostnameClaim, held Grants) (granted []string, conflicts []HostnameConflict) {
	self := HostnameClaim{Tenant: e.Name, UID: e.UID, Created: created, Hostnames: e.Hostnames()}
	others := slices.DeleteFunc(slices.Clone(claims), func(c HostnameClaim) bool { return c.Tenant == e.Name })
	return grant(self, others, held)
}

func grant(self HostnameClaim, others []HostnameClaim, held Grants) (granted []string, conflicts []HostnameConflict) {
	for _, h := range self.Hostnames {
		mine := held[h] == self.Tenant
		c, theirs, ok := holder(h, self, mine, others, held)
		if !ok && !mine {
			c, theirs, ok = firstAsking(h, self, others)
		}
		if ok {
			conflicts = append(conflicts, HostnameConflict{Hostname: h, Tenant: c, Theirs: theirs})
		} else {
			granted = append(granted, h)
		}
	}
	return granted, conflicts
}

// holder is another Tenant holding a hostname overlapping h that it still
// asks for, and beats self to it.
func holder(h string, self HostnameClaim, mine bool, others []HostnameClaim, held Grants) (string, string, bool) {
	for _, c := range others {
		for _, o := range c.Hostnames {
			if held[o] == c.Tenant && HostnamesOverlap(h, o) && (!mine || earlier(c, self)) {
				return c.Tenant, o, true
			}
		}
	}
	return "", "", false
}

// firstAsking is an earlier Tenant asking for a hostname overlapping h.
func firstAsking(h string, self HostnameClaim, others []HostnameClaim) (string, string, bool) {
	for _, c := range others {
		if !earlier(c, self) {
			continue
		}
		if i := slices.IndexFunc(c.Hostnames, func(o string) bool { return HostnamesOverlap(h, o) }); i >= 0 {
			return c.Tenant, c.Hostnames[i], true
		}
	}
	return "", "", false
}

// hostnameMessage is the Stalled message of a hostname conflict.
func hostnameMessage(conflicts []HostnameConflict) string {
	parts := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		if c.Theirs == c.Hostname {
			parts = append(parts, fmt.Sprintf("%s (tenant %s)", c.Hostname, c.Tenant))
		} else {
			parts = append(parts, fmt.Sprintf("%s (tenant %s has %s)", c.Hostname, c.Tenant, c.Theirs))
		}
	}
	return "Hostnames held by another Tenant were not granted: " + strings.Join(parts, ", ") +
		"; Ingresses may not serve them until that Tenant gives them up"
}

// hostnames grants the Tenant its hostnames, stalling it on a conflict.
func (b *builder) hostnames() {
	granted, conflicts := GrantHostnames(b.e, b.obs.Created, b.obs.HostnameClaims, b.obs.HeldHostnames)
	b.granted = granted
	if len(conflicts) > 0 {
		b.stall(tenantryv1alpha1.ReasonHostnameConflict, hostnameMessage(conflicts))
	}
}

// namespaceInputs are what a namespace is rendered from: the effective spec
// and, when the spec asks for hostnames, those granted.
func (b *builder) namespaceInputs() string {
	if len(b.e.Hostnames()) == 0 {
		return b.e.Hash
	}
	return b.e.Hash + "/hostnames=" + strings.Join(b.granted, ",")
}
