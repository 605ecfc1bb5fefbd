package plan

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
)

func TestClassifyNamespace(t *testing.T) {
	tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "team", UID: "uid-now"}}
	ns := func(labels, annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: labels, Annotations: annotations}}
	}
	ours := map[string]string{tenantryv1alpha1.TenantLabel: "team"}
	uid := func(u string) map[string]string { return map[string]string{tenantryv1alpha1.TenantUIDAnnotation: u} }
	const (
		manage = "manage"
		adopt  = "adopt"
		leave  = "leave"
	)
	tests := []struct {
		name      string
		ns        *corev1.Namespace
		wasActive bool
		ifUnowned bool
		protected string
		want      string
		message   string
	}{
		{name: "absent: create", want: manage},
		{name: "protected, even absent", protected: "p", want: leave, message: "p"},
		{name: "protected wins over IfUnowned and our own marks", ns: ns(ours, uid("uid-now")), ifUnowned: true, protected: "p", want: leave, message: "p"},
		{name: "ours: label and UID", ns: ns(ours, uid("uid-now")), want: manage},
		{name: "ours with the label stripped, as last seen Active: drift", ns: ns(nil, uid("uid-now")), wasActive: true, want: manage},
		{name: "our UID without the label, never Active here", ns: ns(nil, uid("uid-now")), want: leave,
			message: "namespace exists and is not managed by Tenantry; set adoptionPolicy: IfUnowned to adopt it"},
		{name: "another tenant's: never, whatever the policy", ns: ns(map[string]string{tenantryv1alpha1.TenantLabel: "other"}, nil), ifUnowned: true, want: leave,
			message: "namespace belongs to tenant other"},
		{name: "an earlier Tenant's of this name", ns: ns(ours, uid("uid-old")), want: leave,
			message: "namespace was left by an earlier Tenant named team (uid uid-old); set adoptionPolicy: IfUnowned to adopt it"},
		{name: "an earlier Tenant's of this name, IfUnowned: adopted", ns: ns(ours, uid("uid-old")), ifUnowned: true, want: adopt},
		{name: "forged label, no UID", ns: ns(ours, nil), want: leave,
			message: "namespace carries the label of tenant team but Tenantry did not create or adopt it for this Tenant; set adoptionPolicy: IfUnowned to adopt it"},
		{name: "label without UID, Active in our own status: managed before UIDs, adopted", ns: ns(ours, nil), wasActive: true, want: adopt},
		{name: "unlabelled: Never", ns: ns(map[string]string{"keep": "me"}, nil), want: leave,
			message: "namespace exists and is not managed by Tenantry; set adoptionPolicy: IfUnowned to adopt it"},
		{name: "unlabelled: IfUnowned adopts", ns: ns(nil, nil), ifUnowned: true, want: adopt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn.Spec.AdoptionPolicy = tenantryv1alpha1.AdoptionPolicyNever
			if tt.ifUnowned {
				tn.Spec.AdoptionPolicy = tenantryv1alpha1.AdoptionPolicyIfUnowned
			}
			v := classifyNamespace(effective.Of(tn, effective.Options{}), tt.ns, tt.wasActive, tt.protected)
			got := leave
			switch {
			case v.manage && v.adopt:
				got = adopt
			case v.manage:
				got = manage
			}
			if got != tt.want || v.message != tt.message {
				t.Fatalf("got %s %q, want %s %q", got, v.message, tt.want, tt.message)
			}
			if tt.protected != "" && !v.protected {
				t.Fatal("a protected namespace must be reported as protected")
			}
		})
	}
}

func TestProtection(t *testing.T) {
	sel, err := labels.Parse("platform/system=true")
	if err != nil {
		t.Fatal(err)
	}
	r := Config{OperatorNamespace: "tenantry-system", ProtectedNamespaces: []string{"monitoring"}, ProtectedNamespaceSelector: sel}
	for name, want := range map[string]string{
		"kube-system":     "namespace kube-system is a system namespace and can never be a tenant namespace",
		"default":         "namespace default is a system namespace and can never be a tenant namespace",
		"kube-node-lease": "namespace kube-node-lease is a system namespace and can never be a tenant namespace",
		"kube-public":     "namespace kube-public is a system namespace and can never be a tenant namespace",
		"tenantry-system": "namespace tenantry-system is the Tenantry operator's own and can never be a tenant namespace",
		"monitoring":      "namespace monitoring is protected (--protected-namespaces) and can never be a tenant namespace",
		"team-a":          "",
	} {
		if got := r.Protection(name, nil); got != want {
			t.Errorf("%s: got %q want %q", name, got, want)
		}
	}
	labelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra", Labels: map[string]string{"platform/system": "true"}}}
	if got := r.Protection("infra", labelled); got != "namespace infra is protected (--protected-namespace-selector) and can never be a tenant namespace" {
		t.Errorf("selector: got %q", got)
	}
	marked := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vault", Labels: map[string]string{tenantryv1alpha1.ProtectedLabel: "true"}}}
	if got := (Config{}).Protection("vault", marked); got != "namespace vault is labelled tenantry.io/protected=true and can never be a tenant namespace" {
		t.Errorf("protected label: got %q", got)
	}
	if got := (Config{}).Protection("infra", labelled); got != "" {
		t.Errorf("no selector protects nothing more: %q", got)
	}
}

func TestOnlyTenantryWrote(t *testing.T) {
	with := func(managers ...string) *corev1.Namespace {
		ns := &corev1.Namespace{}
		for _, m := range managers {
			ns.ManagedFields = append(ns.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
		}
		return ns
	}
	if OnlyTenantryWrote(with()) || !OnlyTenantryWrote(with("tenantry")) ||
		OnlyTenantryWrote(with("tenantry", "tenantry-adoption")) ||
		OnlyTenantryWrote(with("tenantry", "tenantry-foo")) ||
		OnlyTenantryWrote(with("tenantry", "kubectl-create")) {
		t.Fatal("only Tenantry's main field manager counts as evidence of creation")
	}
}
