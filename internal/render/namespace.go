package render

import (
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
)

// Pod Security Admission label keys.
const (
	PSAEnforce        = "pod-security.kubernetes.io/enforce"
	PSAEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	PSAAudit          = "pod-security.kubernetes.io/audit"
	PSAAuditVersion   = "pod-security.kubernetes.io/audit-version"
	PSAWarn           = "pod-security.kubernetes.io/warn"
	PSAWarnVersion    = "pod-security.kubernetes.io/warn-version"
)

// EffectivePodSecurity resolves the Pod Security modes of one namespace: the
// per-namespace override wins field by field over spec.podSecurity; enforce
// defaults to restricted, the version to latest, audit and warn to enforce.
func EffectivePodSecurity(spec, override *tenantryv1alpha1.PodSecurity) tenantryv1alpha1.PodSecurity {
	var ps tenantryv1alpha1.PodSecurity
	for _, src := range []*tenantryv1alpha1.PodSecurity{spec, override} {
		if src == nil {
			continue
		}
		if src.Enforce != "" {
			ps.Enforce = src.Enforce
		}
		if src.EnforceVersion != "" {
			ps.EnforceVersion = src.EnforceVersion
		}
		if src.Audit != "" {
			ps.Audit = src.Audit
		}
		if src.Warn != "" {
			ps.Warn = src.Warn
		}
	}
	if ps.Enforce == "" {
		ps.Enforce = tenantryv1alpha1.PodSecurityRestricted
	}
	if ps.EnforceVersion == "" {
		ps.EnforceVersion = "latest"
	}
	if ps.Audit == "" {
		ps.Audit = ps.Enforce
	}
	if ps.Warn == "" {
		ps.Warn = ps.Enforce
	}
	return ps
}

// podSecurityLabels are the PSA labels for ps; audit and warn follow the
// enforce version so that all three modes judge by the same policy version.
func podSecurityLabels(ps tenantryv1alpha1.PodSecurity) map[string]string {
	return map[string]string{
		PSAEnforce:        string(ps.Enforce),
		PSAEnforceVersion: ps.EnforceVersion,
		PSAAudit:          string(ps.Audit),
		PSAAuditVersion:   ps.EnforceVersion,
		PSAWarn:           string(ps.Warn),
		PSAWarnVersion:    ps.EnforceVersion,
	}
}

// Namespace renders one tenant namespace. Tenantry owns only the labels and
// annotations it sets; everything else on the namespace is left to others.
// hostnames are those granted to the Tenant (GuardrailAnnotations).
func Namespace(t *effective.Tenant, ns tenantryv1alpha1.TenantNamespace, hostnames []string) Object {
	var metaLabels map[string]tenantryv1alpha1.LabelValue
	var metaAnnotations map[string]string
	if m := t.Spec.NamespaceMetadata; m != nil {
		metaLabels, metaAnnotations = m.Labels, m.Annotations
	}
	labels := mergeMaps(labelStrings(metaLabels), labelStrings(ns.Labels),
		podSecurityLabels(EffectivePodSecurity(t.Spec.PodSecurity, ns.PodSecurity)),
		ManagedLabels(t.Name))
	ac := corev1ac.Namespace(ns.Name).WithLabels(labels)
	// The Tenant's UID proves the namespace is this Tenant's and not an
	// earlier one's of the same name.
	annotations := mergeMaps(metaAnnotations, ns.Annotations)
	for k := range annotations {
		// Reserved (the CRD refuses them): a spec must never write Tenantry's
		// proof of ownership or an adoption record.
		if strings.HasPrefix(k, "tenantry.io/") {
			delete(annotations, k)
		}
	}
	own := map[string]string{tenantryv1alpha1.TenantUIDAnnotation: string(t.UID)}
	if ss := t.Spec.SelfService; ss != nil && ss.NamePrefix != "" {
		own[tenantryv1alpha1.ClaimPrefixAnnotation] = ss.NamePrefix
	}
	ac.WithAnnotations(mergeMaps(annotations, GuardrailAnnotations(t, hostnames), own))
	return Object{Kind: kinds.Namespace, Name: ns.Name, Apply: ac}
}

// ClaimedNamespace renders the namespace of an accepted NamespaceClaim: a
// tenant namespace like any other, with the claim's labels and annotations
// and the annotation naming the claim (claim is <namespace>/<name>).
func ClaimedNamespace(t *effective.Tenant, c *tenantryv1alpha1.NamespaceClaim, hostnames []string) Object {
	o := Namespace(t, tenantryv1alpha1.TenantNamespace{Name: c.Name, Labels: c.Spec.Labels, Annotations: c.Spec.Annotations}, hostnames)
	o.Apply.(*corev1ac.NamespaceApplyConfiguration).WithAnnotations(map[string]string{
		tenantryv1alpha1.ClaimAnnotation: c.Namespace + "/" + c.Name})
	return o
}

// ReleasedNamespace is the apply configuration that gives up every field
// Tenantry owns on a namespace (labels, annotations) while keeping the
// namespace: applying an empty configuration removes what the manager owned.
func ReleasedNamespace(name string) Object {
	return Object{Kind: kinds.Namespace, Name: name, Apply: corev1ac.Namespace(name)}
}

// labelStrings converts a spec's labels to plain strings.
func labelStrings(in map[string]tenantryv1alpha1.LabelValue) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = string(v)
	}
	return out
}
