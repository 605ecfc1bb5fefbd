package render

import (
	"reflect"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

func nsSelector(labels map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labels}
}

func TestGuardrailAnnotations(t *testing.T) {
	tn := baseTenant()
	tn.Spec.Workloads = &tenantryv1alpha1.Workloads{
		Registries:      []tenantryv1alpha1.RegistryPrefix{"ghcr.io/team-a/", "registry.example.com/"},
		ImagePullPolicy: tenantryv1alpha1.ImagePullAlways,
		StorageClasses:  []tenantryv1alpha1.ClassName{"standard"},
		PriorityClasses: []tenantryv1alpha1.ClassName{"tenant-normal", "tenant-batch"},
		RuntimeClasses:  []tenantryv1alpha1.ClassName{"gvisor"},
		IngressClasses:  []tenantryv1alpha1.ClassName{"nginx"},
		Hostnames:       []tenantryv1alpha1.Hostname{"team-a.example.com", "*.team-a.example.com"},
		ServiceTypes:    []tenantryv1alpha1.ServiceType{"ClusterIP", "ExternalName"},
		NodeSelector:    map[string]tenantryv1alpha1.LabelValue{"pool": "team-a", "kubernetes.io/arch": "amd64"},
		Tolerations: []tenantryv1alpha1.Toleration{
			{Key: "pool", Operator: "Equal", Value: "team-a", Effect: "NoSchedule"},
			{Key: "gpu", Operator: "Exists"},
			{Key: "zone", Value: "a"},
		},
	}
	tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{
		Isolation: tenantryv1alpha1.NetworkIsolationNamespace,
		Egress:    tenantryv1alpha1.NetworkEgressTenant,
		AllowIngressFrom: []networkingv1.NetworkPolicyPeer{
			{NamespaceSelector: nsSelector(map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}), PodSelector: nsSelector(map[string]string{"b": "2", "a": "1"})},
			{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Exists"}}}}, // not repeatable
			{PodSelector: nsSelector(map[string]string{"app": "web"})},                                                                      // this namespace: allowed anyway
		},
		AllowEgressTo: []networkingv1.NetworkPolicyPeer{
			{NamespaceSelector: nsSelector(map[string]string{"kubernetes.io/metadata.name": "egress-proxy"})},
			{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "10.2.0.0/16"}}},
			{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::/8"}},
		},
	}
	got := GuardrailAnnotations(eff(tn), []string{"*.team-a.example.com"})
	want := map[string]string{
		"tenantry.io/registries":         "ghcr.io/team-a/,registry.example.com/",
		"tenantry.io/image-pull-policy":  "Always",
		"tenantry.io/storage-classes":    "standard",
		"tenantry.io/priority-classes":   "tenant-normal,tenant-batch",
		"tenantry.io/runtime-classes":    "gvisor",
		"tenantry.io/ingress-classes":    "nginx",
		"tenantry.io/hostnames":          "*.team-a.example.com", // only those granted
		"tenantry.io/service-types":      "ClusterIP,ExternalName",
		"tenantry.io/node-selector":      "kubernetes.io/arch=amd64,pool=team-a",
		"tenantry.io/tolerations":        "pool=team-a:NoSchedule,gpu,zone=a",
		"tenantry.io/isolation":          "Namespace",
		"tenantry.io/allow-ingress-from": "ns:kubernetes.io/metadata.name=ingress-nginx pod:a=1&b=2",
		"tenantry.io/egress":             "Tenant",
		"tenantry.io/allow-egress-to":    "ns:kubernetes.io/metadata.name=egress-proxy pod:,ip:10.0.0.0/8 except:10.1.0.0/16&10.2.0.0/16,ip:fd00::/8 except:",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("annotations:\n got %v\nwant %v", got, want)
	}
	for key := range got {
		if !slices.Contains(GuardrailAnnotationKeys, key) {
			t.Errorf("%s is missing from GuardrailAnnotationKeys", key)
		}
	}
	// They are on the namespace, with the ownership mark.
	ann := get(asMap(t, Namespace(eff(tn), tn.Spec.Namespaces[0], []string{"*.team-a.example.com"})), "metadata", "annotations").(map[string]any)
	if ann["tenantry.io/registries"] != want["tenantry.io/registries"] || ann["tenantry.io/tenant-uid"] != "uid-1" {
		t.Fatalf("namespace annotations = %v", ann)
	}
}

func TestGuardrailAnnotationsOnlyForWhatIsSet(t *testing.T) {
	tn := baseTenant()
	if got := GuardrailAnnotations(eff(tn), nil); !reflect.DeepEqual(got, map[string]string{"tenantry.io/isolation": "Tenant"}) {
		t.Fatalf("a Tenant without guardrails gets only its (default) isolation preset: %v", got)
	}
	tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Isolation: tenantryv1alpha1.NetworkIsolationNone,
		AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}}}
	tn.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: []tenantryv1alpha1.Hostname{"a.example.com"}}
	// Every hostname lost to a conflict: still restricted, to none.
	if got := GuardrailAnnotations(eff(tn), nil); !reflect.DeepEqual(got, map[string]string{"tenantry.io/hostnames": ""}) {
		t.Fatalf("isolation None and all hostnames in conflict: %v", got)
	}
}

func TestEgressPresets(t *testing.T) {
	dns := map[string]any{
		"to": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
			"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
		}},
		"ports": []any{map[string]any{"port": float64(53), "protocol": "UDP"}, map[string]any{"port": float64(53), "protocol": "TCP"}},
	}
	proxy := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "egress-proxy"}}}
	tenantPeer := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"tenantry.io/tenant": "team-a"}}}
	nsPeer := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "team-a-dev"}}}
	tests := []struct {
		name      string
		isolation tenantryv1alpha1.NetworkIsolation
		egress    tenantryv1alpha1.NetworkEgress
		want      map[string]any // spec; nil for no policy
	}{{
		name: "egress Tenant with ingress Tenant", egress: tenantryv1alpha1.NetworkEgressTenant,
		want: map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"},
			"ingress": []any{map[string]any{"from": []any{tenantPeer}}},
			"egress":  []any{map[string]any{"to": []any{tenantPeer, proxy}}, dns}},
	}, {
		name: "egress Namespace, isolation None: egress only", isolation: tenantryv1alpha1.NetworkIsolationNone, egress: tenantryv1alpha1.NetworkEgressNamespace,
		want: map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{nsPeer, proxy}}, dns}},
	}, {
		name: "egress None: ingress only, as before egress existed", egress: tenantryv1alpha1.NetworkEgressNone,
		want: map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{tenantPeer}}}},
	}, {
		name: "both None: no policy", isolation: tenantryv1alpha1.NetworkIsolationNone, egress: tenantryv1alpha1.NetworkEgressNone,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := baseTenant()
			tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Isolation: tt.isolation, Egress: tt.egress,
				AllowEgressTo: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSelector(map[string]string{"kubernetes.io/metadata.name": "egress-proxy"})}}}
			var spec any
			for _, o := range Children(eff(tn), "team-a-dev", true) {
				if o.Name == IsolationPolicy {
					spec = get(asMap(t, o), "spec")
				}
			}
			if tt.want == nil && spec != nil || tt.want != nil && !reflect.DeepEqual(spec, tt.want) {
				t.Fatalf("spec:\n got %#v\nwant %#v", spec, tt.want)
			}
		})
	}
}

func TestEncodeToleration(t *testing.T) {
	for tol, want := range map[tenantryv1alpha1.Toleration]string{
		{Key: "pool", Operator: "Equal", Value: "team-a", Effect: "NoSchedule"}: "pool=team-a:NoSchedule",
		{Key: "pool", Value: "team-a"}:                                          "pool=team-a",
		{Key: "pool", Operator: "Equal"}:                                        "pool=",
		{Key: "example.com/gpu", Operator: "Exists", Effect: "NoExecute"}:       "example.com/gpu:NoExecute",
		{Key: "gpu", Operator: "Exists"}:                                        "gpu",
	} {
		if got := EncodeToleration(tol); got != want {
			t.Errorf("%+v: got %q want %q", tol, got, want)
		}
	}
}
