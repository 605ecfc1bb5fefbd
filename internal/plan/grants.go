package plan

import (
	"maps"
	"slices"
	"strings"
)

// Grants is who holds each granted hostname, cluster-wide: hostname (as a
// spec lists it, "*." wildcards included) → Tenant name. The operator keeps
// it in one ConfigMap, the grant table, that the hostname-grants admission
// policy reads, so that a granted hostname is refused in every other
// tenant's namespaces, restricted or not.
type Grants map[string]string

// The grant table's keys. ConfigMap keys may not hold '*', and hostnames
// never hold '_' (they are DNS names), so:
//   - an exact hostname is its own key;
//   - "*.<parent>" is "_.<parent>";
//   - "_in.<parent>" names who holds exact hostnames directly under parent:
//     the one Tenant, or GrantedToSeveral. An Ingress host "*.<parent>"
//     would serve all of them, and this lets the policy see so with one
//     lookup instead of a scan.
const (
	grantWildcardPrefix = "_."
	grantUnderPrefix    = "_in."
	// GrantedToSeveral is the value of an "_in." key whose exact hostnames
	// are held by more than one Tenant.
	GrantedToSeveral = "*"
)

// GrantKey is the grant table's key of hostname h.
func GrantKey(h string) string {
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		return grantWildcardPrefix + rest
	}
	return h
}

// Encode is the grant table's data: every grant, plus the "_in." index.
func (g Grants) Encode() map[string]string {
	out := make(map[string]string, len(g)*2)
	for h, tenant := range g {
		out[GrantKey(h)] = tenant
		if strings.HasPrefix(h, "*.") || !strings.Contains(h, ".") {
			continue
		}
		k := grantUnderPrefix + HostnameParent(h)
		if held, ok := out[k]; ok && held != tenant {
			out[k] = GrantedToSeveral
		} else {
			out[k] = tenant
		}
	}
	return out
}

// DecodeGrants reads the grant table's data back into Grants; the "_in."
// index is derived, so it is left out.
func DecodeGrants(data map[string]string) Grants {
	g := make(Grants, len(data))
	for k, tenant := range data {
		switch {
		case strings.HasPrefix(k, grantUnderPrefix):
		case strings.HasPrefix(k, grantWildcardPrefix):
			g["*."+strings.TrimPrefix(k, grantWildcardPrefix)] = tenant
		default:
			g[k] = tenant
		}
	}
	return g
}

// GrantTable is the grant table made from every Tenant's hostname claim and
// the table in place (held): each Tenant gets what GrantHostnames grants it,
// exactly as its own pass decides. Pure; claims of Tenants asking for
// nothing are ignored.
func GrantTable(claims []HostnameClaim, held Grants) Grants {
	byParent := map[string][]HostnameClaim{}
	for _, c := range claims {
		for _, p := range parentsOf(c.Hostnames) {
			byParent[p] = append(byParent[p], c)
		}
	}
	out := Grants{}
	for _, c := range claims {
		var related []HostnameClaim
		seen := map[string]bool{c.Tenant: true}
		for _, p := range parentsOf(c.Hostnames) {
			for _, o := range byParent[p] {
				if !seen[o.Tenant] {
					seen[o.Tenant] = true
					related = append(related, o)
				}
			}
		}
		granted, _ := grant(c, related, held)
		for _, h := range granted {
			out[h] = c.Tenant
		}
	}
	return out
}

func parentsOf(hostnames []string) []string {
	set := map[string]bool{}
	for _, h := range hostnames {
		set[HostnameParent(h)] = true
	}
	return slices.Sorted(maps.Keys(set))
}
