package render

import (
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
)

// GuardrailAnnotationKeys are every annotation GuardrailAnnotations may set.
var GuardrailAnnotationKeys = []string{
	tenantryv1alpha1.RegistriesAnnotation, tenantryv1alpha1.ImagePullPolicyAnnotation,
	tenantryv1alpha1.StorageClassesAnnotation, tenantryv1alpha1.PriorityClassesAnnotation,
	tenantryv1alpha1.RuntimeClassesAnnotation, tenantryv1alpha1.IngressClassesAnnotation,
	tenantryv1alpha1.HostnamesAnnotation, tenantryv1alpha1.ServiceTypesAnnotation,
	tenantryv1alpha1.NodeSelectorAnnotation, tenantryv1alpha1.TolerationsAnnotation,
	tenantryv1alpha1.IsolationAnnotation, tenantryv1alpha1.EgressAnnotation,
	tenantryv1alpha1.AllowIngressFromAnnotation, tenantryv1alpha1.AllowEgressToAnnotation,
}

// GuardrailAnnotations are the tenantry.io/ annotations that carry a
// Tenant's guardrails to the admission policies on each of its namespaces
// (config/policies): one fixed set of policies reads them there, whatever
// the number of tenants. hostnames are the hostnames granted to the Tenant
// (its own, less those an earlier Tenant holds); the annotation is present,
// possibly empty, whenever the spec lists any, so that losing every hostname
// to a conflict never lifts the restriction.
func GuardrailAnnotations(t *effective.Tenant, hostnames []string) map[string]string {
	out := map[string]string{}
	if w := t.Spec.Workloads; w != nil {
		setList(out, tenantryv1alpha1.RegistriesAnnotation, w.Registries)
		if w.ImagePullPolicy != "" {
			out[tenantryv1alpha1.ImagePullPolicyAnnotation] = string(w.ImagePullPolicy)
		}
		setList(out, tenantryv1alpha1.StorageClassesAnnotation, w.StorageClasses)
		setList(out, tenantryv1alpha1.PriorityClassesAnnotation, w.PriorityClasses)
		setList(out, tenantryv1alpha1.RuntimeClassesAnnotation, w.RuntimeClasses)
		setList(out, tenantryv1alpha1.IngressClassesAnnotation, w.IngressClasses)
		if len(w.Hostnames) > 0 {
			out[tenantryv1alpha1.HostnamesAnnotation] = strings.Join(hostnames, ",")
		}
		setList(out, tenantryv1alpha1.ServiceTypesAnnotation, w.ServiceTypes)
		if len(w.NodeSelector) > 0 {
			var entries []string
			for _, k := range slices.Sorted(maps.Keys(w.NodeSelector)) {
				entries = append(entries, k+"="+string(w.NodeSelector[k]))
			}
			out[tenantryv1alpha1.NodeSelectorAnnotation] = strings.Join(entries, ",")
		}
		if len(w.Tolerations) > 0 {
			entries := make([]string, 0, len(w.Tolerations))
			for _, tol := range w.Tolerations {
				entries = append(entries, EncodeToleration(tol))
			}
			out[tenantryv1alpha1.TolerationsAnnotation] = strings.Join(entries, ",")
		}
	}
	isolation, egress := Isolation(t), Egress(t)
	var np tenantryv1alpha1.TenantNetworkPolicy
	if t.Spec.NetworkPolicy != nil {
		np = *t.Spec.NetworkPolicy
	}
	if isolation != tenantryv1alpha1.NetworkIsolationNone {
		out[tenantryv1alpha1.IsolationAnnotation] = string(isolation)
		setPeers(out, tenantryv1alpha1.AllowIngressFromAnnotation, np.AllowIngressFrom)
	}
	if egress != tenantryv1alpha1.NetworkEgressNone {
		out[tenantryv1alpha1.EgressAnnotation] = string(egress)
		setPeers(out, tenantryv1alpha1.AllowEgressToAnnotation, np.AllowEgressTo)
	}
	return out
}

func setList[T ~string](out map[string]string, key string, values []T) {
	if len(values) == 0 {
		return
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	out[key] = strings.Join(parts, ",")
}

func setPeers(out map[string]string, key string, peers []networkingv1.NetworkPolicyPeer) {
	var parts []string
	for _, p := range peers {
		if enc, ok := EncodePeer(p); ok {
			parts = append(parts, enc)
		}
	}
	if len(parts) > 0 {
		out[key] = strings.Join(parts, ",")
	}
}

// EncodeToleration is the annotation's form of a toleration:
// key=value:Effect for Equal, key:Effect for Exists, ":Effect" left out
// when every effect is tolerated (the policy builds the same from a pod's).
func EncodeToleration(t tenantryv1alpha1.Toleration) string {
	s := t.Key
	if t.Operator != tenantryv1alpha1.TolerationOpExists {
		s += "=" + string(t.Value)
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	return s
}

// EncodePeer is the annotation's form of an allowed peer that tenants'
// own NetworkPolicies may repeat: "ns:<labels> pod:<labels>" for a
// namespaceSelector (and podSelector) of matchLabels only, labels sorted
// k=v joined by '&'; "ip:<cidr> except:<cidr>&<cidr>" for an ipBlock. Label
// keys and values, and CIDRs, hold none of ',', ' ' and '&'. Selectors with
// matchExpressions, and podSelector-only peers (the same namespace, allowed
// anyway), are not encoded: false.
func EncodePeer(p networkingv1.NetworkPolicyPeer) (string, bool) {
	if b := p.IPBlock; b != nil {
		return "ip:" + b.CIDR + " except:" + strings.Join(b.Except, "&"), true
	}
	ns, pod := p.NamespaceSelector, p.PodSelector
	if ns == nil || len(ns.MatchExpressions) > 0 || pod != nil && len(pod.MatchExpressions) > 0 {
		return "", false
	}
	var podLabels map[string]string
	if pod != nil {
		podLabels = pod.MatchLabels
	}
	return "ns:" + encodeLabels(ns.MatchLabels) + " pod:" + encodeLabels(podLabels), true
}

func encodeLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, "&")
}

// Isolation is the Tenant's ingress preset (Tenant when unset).
func Isolation(t *effective.Tenant) tenantryv1alpha1.NetworkIsolation {
	if np := t.Spec.NetworkPolicy; np != nil && np.Isolation != "" {
		return np.Isolation
	}
	return tenantryv1alpha1.NetworkIsolationTenant
}

// Egress is the Tenant's egress preset (None when unset).
func Egress(t *effective.Tenant) tenantryv1alpha1.NetworkEgress {
	if np := t.Spec.NetworkPolicy; np != nil && np.Egress != "" {
		return np.Egress
	}
	return tenantryv1alpha1.NetworkEgressNone
}
