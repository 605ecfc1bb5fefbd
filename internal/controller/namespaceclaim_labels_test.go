package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestClaimLabelAttacks: a claim's labels are the first namespace labels a
// tenant owner chooses. The labels that decide isolation across tenants
// (tenantry.io/tenant, which the isolation policy selects; Pod Security;
// kubernetes.io/metadata.name, which the API server sets and every
// namespace selector of Tenantry's own uses) are refused at apply, so
// one tenant's owner cannot make a namespace pass for another tenant's, for
// a system namespace, or for a weaker Pod Security level.
func TestClaimLabelAttacks(t *testing.T) {
	attacker := selfServiceTenant("ssm", 3)
	victim := selfServiceTenant("ssn", 3)
	owner := readyOwner(t, attacker)
	createTenant(t, victim)
	waitReady(t, victim.Name)
	const reserved = `labels under tenantry.io/ and pod-security.kubernetes.io/ are reserved; Pod Security comes from the Tenant`
	const kube = `labels under kubernetes.io/, k8s.io/ and their subdomains are reserved for Kubernetes: the API server sets kubernetes.io/metadata.name itself, and namespace selectors trust these labels`
	for _, tt := range []struct {
		name   string
		labels map[string]tenantryv1alpha1.LabelValue
		want   string
	}{
		{"pass for another tenant's namespace", map[string]tenantryv1alpha1.LabelValue{tenantryv1alpha1.TenantLabel: "ssn"}, reserved},
		{"weaker Pod Security", map[string]tenantryv1alpha1.LabelValue{"pod-security.kubernetes.io/enforce": "privileged"}, reserved},
		{"pass for a system namespace by name", map[string]tenantryv1alpha1.LabelValue{corev1.LabelMetadataName: "kube-system"}, kube},
		{"pass for another tenant's namespace by name", map[string]tenantryv1alpha1.LabelValue{corev1.LabelMetadataName: "ssn-dev"}, kube},
		{"a Kubernetes-reserved subdomain", map[string]tenantryv1alpha1.LabelValue{"node-restriction.kubernetes.io/pool": "a"}, kube},
		{"k8s.io", map[string]tenantryv1alpha1.LabelValue{"k8s.io/owner": "x"}, kube},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClaim("ssm-dev", "ssm-x")
			c.Spec.Labels = tt.labels
			err := owner.Create(context.Background(), c)
			if err == nil {
				must(k8s.Delete(context.Background(), c)) // so the next case is not AlreadyExists
			}
			want := `NamespaceClaim.tenantry.io "ssm-x" is invalid: spec.labels: Invalid value: ` + tt.want
			if err == nil || err.Error() != want {
				t.Fatalf("got  %v\nwant %s", err, want)
			}
		})
	}
}

// TestClaimLabelsMatchCustomSelectors documents what still holds and what
// a platform engineer must not trust: a label of the owner's choosing (not
// reserved) is matched by another Tenant's allowIngressFrom selector on that
// label, so such selectors must name namespaces by kubernetes.io/metadata.name
// or tenantry.io/tenant; the isolation policy itself, which selects by
// tenantry.io/tenant, never matches another tenant's claimed namespace.
func TestClaimLabelsMatchCustomSelectors(t *testing.T) {
	attacker := selfServiceTenant("sso", 3)
	victim := newTenant("ssp", "ssp-dev")
	victim.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{
		{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "monitoring"}}},
		{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "monitoring"}}},
	}}
	owner := readyOwner(t, attacker)
	createTenant(t, victim)
	waitReady(t, victim.Name)
	c := newClaim("sso-dev", "sso-monitoring")
	c.Spec.Labels = map[string]tenantryv1alpha1.LabelValue{"team": "monitoring"}
	must(owner.Create(context.Background(), c))
	waitClaim(t, "sso-dev", "sso-monitoring", metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled)
	ns := get(t, &corev1.Namespace{}, "", "sso-monitoring")
	iso := get(t, &networkingv1.NetworkPolicy{}, "ssp-dev", "tenantry-isolation")
	matched := map[string]bool{}
	for _, rule := range iso.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.NamespaceSelector == nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			must(err)
			if sel.Matches(labels.Set(ns.Labels)) {
				matched[sel.String()] = true
			}
		}
	}
	// Only the selector on the owner-chosen label lets the claimed namespace in.
	if len(matched) != 1 || !matched["team=monitoring"] {
		t.Fatalf("ssp's isolation policy peers matching %v: %v (policy %+v)", ns.Labels, matched, iso.Spec.Ingress)
	}
}
