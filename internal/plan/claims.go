package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/status"
)

// ClaimKey is how a claim is named in namespace annotations, the
// inventory and status: <namespace>/<name>.
func ClaimKey(c *tenantryv1alpha1.NamespaceClaim) string { return c.Namespace + "/" + c.Name }

// claims decides every claim observed in the Tenant's namespaces, before
// any namespace is planned. The operator plans one Tenant at a time, so
// deciding here, in one deterministic order, keeps the count exact however
// many claims arrive at once: claims that already have their namespace
// first (they are never taken back: tightening selfService takes no
// namespace away), then by creationTimestamp, then by namespace and name.
func (b *builder) claims() {
	if b.obs.Deleting {
		return // none is kept: every claimed namespace departs with the Tenant
	}
	type candidate struct {
		c   *tenantryv1alpha1.NamespaceClaim
		own bool
	}
	var cands []candidate
	for i := range b.obs.Claims {
		c := &b.obs.Claims[i]
		host := b.obs.Namespaces[c.Namespace].Object
		if host == nil || !provenOurs(b.e, host) {
			continue // not in one of this Tenant's namespaces: not its claim
		}
		own := b.ownsNamespace(c)
		if !own && !host.DeletionTimestamp.IsZero() {
			continue // it goes with its namespace; nothing is made for it
		}
		cands = append(cands, candidate{c: c, own: own})
	}
	slices.SortFunc(cands, func(x, y candidate) int {
		switch {
		case x.own != y.own:
			if x.own {
				return -1
			}
			return 1
		case !x.c.CreationTimestamp.Equal(&y.c.CreationTimestamp):
			if x.c.CreationTimestamp.Before(&y.c.CreationTimestamp) {
				return -1
			}
			return 1
		}
		return strings.Compare(ClaimKey(x.c), ClaimKey(y.c))
	})
	spec := map[string]bool{}
	for _, ns := range b.e.Spec.Namespaces {
		spec[ns.Name] = true
	}
	taken := map[string]string{}
	for _, cd := range cands {
		c := cd.c
		v := status.ClaimVerdict{Namespace: c.Namespace, Name: c.Name, Generation: c.Generation}
		v.Reason, v.Message = b.refusal(c, cd.own, spec, taken)
		if v.Reason == "" {
			v.Accepted = true
			taken[c.Name] = ClaimKey(c)
			b.accepted = append(b.accepted, c)
			if c.Status.ObservedGeneration != c.Generation {
				b.claimChanged[c.Name] = true
			}
		}
		b.p.Claims = append(b.p.Claims, v)
	}
}

// haltedClaims gives each claim of a halted Tenant the Tenant's reason: no
// claim is decided while the Tenant's spec is refused, but none is left
// without a status (kstatus would call it InProgress indefinitely).
func (b *builder) haltedClaims(reason, message string) {
	for i := range b.obs.Claims {
		c := &b.obs.Claims[i]
		if host := b.obs.Namespaces[c.Namespace].Object; host == nil || !provenOurs(b.e, host) {
			continue
		}
		b.p.Claims = append(b.p.Claims, status.ClaimVerdict{Namespace: c.Namespace, Name: c.Name, Generation: c.Generation,
			Halted: true, Reason: reason, Message: fmt.Sprintf("Tenant %s: %s", b.e.Name, message)})
	}
}

// refusal is why a claim gets no namespace ("" when it is accepted).
func (b *builder) refusal(c *tenantryv1alpha1.NamespaceClaim, own bool, spec map[string]bool, taken map[string]string) (string, string) {
	name, tenant := c.Name, b.e.Name
	ss := b.e.Spec.SelfService
	switch {
	case spec[name]:
		return tenantryv1alpha1.ReasonNamespaceExists, fmt.Sprintf(
			"namespace %s is listed in the spec.namespaces of Tenant %s; no claim is needed", name, tenant)
	case taken[name] != "":
		return tenantryv1alpha1.ReasonNamespaceExists, fmt.Sprintf(
			"namespace %s is claimed by NamespaceClaim %s", name, taken[name])
	case own:
		return "", ""
	case ss == nil:
		return tenantryv1alpha1.ReasonSelfServiceDisabled, fmt.Sprintf(
			"Tenant %s does not allow claiming namespaces (no spec.selfService)", tenant)
	case !strings.HasPrefix(name, b.e.ClaimPrefix()):
		return tenantryv1alpha1.ReasonNamePrefix, fmt.Sprintf(
			"the namespaces of tenant %s are claimed with names starting with %s", tenant, b.e.ClaimPrefix())
	}
	ns := b.obs.Namespaces[name].Object
	if p := b.cfg.Protection(name, ns); p != "" {
		return tenantryv1alpha1.ReasonNamespaceProtected, p
	}
	switch {
	case ns != nil:
		return tenantryv1alpha1.ReasonNamespaceExists, fmt.Sprintf(
			"namespace %s exists; a claim only ever gets a namespace Tenantry creates for it", name)
	case len(b.accepted) >= int(ss.MaxNamespaces):
		return tenantryv1alpha1.ReasonMaxNamespaces, fmt.Sprintf(
			"tenant %s has %d claimed namespaces, at most %d allowed by selfService.maxNamespaces", tenant, len(b.accepted), ss.MaxNamespaces)
	}
	return "", ""
}

// ownsNamespace: the claim's namespace exists and is this Tenant's, made
// for this very claim (its claim annotation, kept in the slim cache copy).
func (b *builder) ownsNamespace(c *tenantryv1alpha1.NamespaceClaim) bool {
	ns := b.obs.Namespaces[c.Name].Object
	return ns != nil && provenOurs(b.e, ns) && ns.Annotations[tenantryv1alpha1.ClaimAnnotation] == ClaimKey(c)
}

// claimVerdictPhases copies each accepted claim's namespace phase from the
// planned namespace statuses.
func (b *builder) claimVerdictPhases() {
	phase := map[string]tenantryv1alpha1.NamespaceStatus{}
	for _, st := range b.p.Namespaces {
		phase[st.Name] = st
	}
	for i := range b.p.Claims {
		if v := &b.p.Claims[i]; v.Accepted {
			v.Phase, v.Message = phase[v.Name].Phase, phase[v.Name].Message
		}
	}
}

// claimInputs are what a claimed namespace is rendered from besides the
// effective spec: the claim's identity and spec. They are not in the
// effective spec's hash (which every object of the Tenant is verified
// against), so that a change to one claim re-verifies its namespace only.
func claimInputs(hash string, c *tenantryv1alpha1.NamespaceClaim) string {
	data, err := json.Marshal(struct {
		Key  string                              `json:"key"`
		Spec tenantryv1alpha1.NamespaceClaimSpec `json:"spec"`
	}{ClaimKey(c), c.Spec})
	if err != nil {
		panic(fmt.Sprintf("plan: marshal claim: %v", err)) // API types always marshal
	}
	sum := sha256.Sum256(data)
	return hash + "/claim/" + hex.EncodeToString(sum[:8])
}
