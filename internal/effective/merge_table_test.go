package effective

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

type (
	defaults  = tenantryv1alpha1.TenantDefaults
	spec      = tenantryv1alpha1.TenantSpec
	workloads = tenantryv1alpha1.Workloads
	netpol    = tenantryv1alpha1.TenantNetworkPolicy
	podsec    = tenantryv1alpha1.PodSecurity
	metadata  = tenantryv1alpha1.NamespaceMetadata
	labels    = map[string]tenantryv1alpha1.LabelValue
	names     = []tenantryv1alpha1.ClassName
)

// mergeCase is one row: path is the field it covers (JSON names, as in the
// CRD) and kind says how: inherit (only the class sets it, or the Tenant
// sets a sibling) or override (both set it).
type mergeCase struct {
	path, kind string
	class      defaults
	tenant     spec
	want       spec
}

const (
	inherit  = "inherit"
	override = "override"
)

var (
	peerA = networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "ingress"}}}
	peerB = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}
	tolA  = tenantryv1alpha1.Toleration{Key: "gpu", Operator: "Exists"}
	tolB  = tenantryv1alpha1.Toleration{Key: "spot", Operator: "Equal", Value: "true"}
	limA  = tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": resource.MustParse("2")}}}}
	limB  = tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod}}}
	team  = []tenantryv1alpha1.RegistryPrefix{"ghcr.io/team/"}
)

func rb(name, role string) tenantryv1alpha1.TenantRoleBinding {
	return tenantryv1alpha1.TenantRoleBinding{Name: name, ClusterRole: role}
}

func policy(name string, types ...networkingv1.PolicyType) tenantryv1alpha1.TenantExtraNetworkPolicy {
	return tenantryv1alpha1.TenantExtraNetworkPolicy{Name: name, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: types}}
}

// mergeCases cover every field a class can default. Workloads and network
// policy rows give the Tenant a sibling field, so that the field is merged
// into the Tenant's struct rather than taken with the class's whole.
func mergeCases() []mergeCase {
	w := func(x workloads) *workloads { return &x }
	n := func(x netpol) *netpol { return &x }
	return []mergeCase{
		{path: "ownerClusterRole", kind: inherit, class: defaults{OwnerClusterRole: "edit"}, want: spec{OwnerClusterRole: "edit"}},
		{path: "ownerClusterRole", kind: override, class: defaults{OwnerClusterRole: "edit"}, tenant: spec{OwnerClusterRole: "view"}, want: spec{OwnerClusterRole: "view"}},

		{path: "roleBindings", kind: inherit, class: defaults{RoleBindings: []tenantryv1alpha1.TenantRoleBinding{rb("ci", "edit")}},
			want: spec{RoleBindings: []tenantryv1alpha1.TenantRoleBinding{rb("ci", "edit")}}},
		{path: "roleBindings", kind: override, // by name: the class's order, then the Tenant's other items
			class:  defaults{RoleBindings: []tenantryv1alpha1.TenantRoleBinding{rb("auditors", "view"), rb("ci", "edit")}},
			tenant: spec{RoleBindings: []tenantryv1alpha1.TenantRoleBinding{rb("own", "view"), rb("ci", "view")}},
			want:   spec{RoleBindings: []tenantryv1alpha1.TenantRoleBinding{rb("auditors", "view"), rb("ci", "view"), rb("own", "view")}}},

		{path: "namespaceMetadata.labels", kind: inherit, class: defaults{NamespaceMetadata: &metadata{Labels: labels{"tier": "gold"}}},
			tenant: spec{NamespaceMetadata: &metadata{Annotations: map[string]string{"a": "t"}}},
			want:   spec{NamespaceMetadata: &metadata{Labels: labels{"tier": "gold"}, Annotations: map[string]string{"a": "t"}}}},
		{path: "namespaceMetadata.labels", kind: override, // by key
			class:  defaults{NamespaceMetadata: &metadata{Labels: labels{"tier": "gold", "env": "shared"}}},
			tenant: spec{NamespaceMetadata: &metadata{Labels: labels{"env": "dev"}}},
			want:   spec{NamespaceMetadata: &metadata{Labels: labels{"tier": "gold", "env": "dev"}}}},
		{path: "namespaceMetadata.annotations", kind: inherit, class: defaults{NamespaceMetadata: &metadata{Annotations: map[string]string{"a": "c"}}},
			tenant: spec{NamespaceMetadata: &metadata{Labels: labels{"env": "dev"}}},
			want:   spec{NamespaceMetadata: &metadata{Labels: labels{"env": "dev"}, Annotations: map[string]string{"a": "c"}}}},
		{path: "namespaceMetadata.annotations", kind: override, // by key
			class:  defaults{NamespaceMetadata: &metadata{Annotations: map[string]string{"a": "c", "b": "c"}}},
			tenant: spec{NamespaceMetadata: &metadata{Annotations: map[string]string{"b": "t"}}},
			want:   spec{NamespaceMetadata: &metadata{Annotations: map[string]string{"a": "c", "b": "t"}}}},

		{path: "podSecurity.enforce", kind: inherit, class: defaults{PodSecurity: &podsec{Enforce: "baseline"}},
			tenant: spec{PodSecurity: &podsec{Warn: "restricted"}}, want: spec{PodSecurity: &podsec{Enforce: "baseline", Warn: "restricted"}}},
		{path: "podSecurity.enforce", kind: override, class: defaults{PodSecurity: &podsec{Enforce: "baseline"}},
			tenant: spec{PodSecurity: &podsec{Enforce: "restricted"}}, want: spec{PodSecurity: &podsec{Enforce: "restricted"}}},
		{path: "podSecurity.enforceVersion", kind: inherit, class: defaults{PodSecurity: &podsec{EnforceVersion: "v1.30"}},
			tenant: spec{PodSecurity: &podsec{Enforce: "restricted"}}, want: spec{PodSecurity: &podsec{Enforce: "restricted", EnforceVersion: "v1.30"}}},
		{path: "podSecurity.enforceVersion", kind: override, class: defaults{PodSecurity: &podsec{EnforceVersion: "v1.30"}},
			tenant: spec{PodSecurity: &podsec{EnforceVersion: "latest"}}, want: spec{PodSecurity: &podsec{EnforceVersion: "latest"}}},
		{path: "podSecurity.audit", kind: inherit, class: defaults{PodSecurity: &podsec{Audit: "restricted"}},
			tenant: spec{PodSecurity: &podsec{Enforce: "baseline"}}, want: spec{PodSecurity: &podsec{Enforce: "baseline", Audit: "restricted"}}},
		{path: "podSecurity.audit", kind: override, class: defaults{PodSecurity: &podsec{Audit: "restricted"}},
			tenant: spec{PodSecurity: &podsec{Audit: "baseline"}}, want: spec{PodSecurity: &podsec{Audit: "baseline"}}},
		{path: "podSecurity.warn", kind: inherit, class: defaults{PodSecurity: &podsec{Warn: "restricted"}},
			tenant: spec{PodSecurity: &podsec{Enforce: "baseline"}}, want: spec{PodSecurity: &podsec{Enforce: "baseline", Warn: "restricted"}}},
		{path: "podSecurity.warn", kind: override, class: defaults{PodSecurity: &podsec{Warn: "restricted"}},
			tenant: spec{PodSecurity: &podsec{Warn: "privileged"}}, want: spec{PodSecurity: &podsec{Warn: "privileged"}}},

		{path: "resourceQuotas", kind: inherit, class: defaults{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{quota("compute", "10")}},
			want: spec{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{quota("compute", "10")}}},
		{path: "resourceQuotas", kind: override, // by name, the Tenant's item whole
			class:  defaults{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{quota("compute", "10"), quota("storage", "5")}},
			tenant: spec{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{quota("gpu", "1"), {Name: "compute", Scope: "Tenant", Hard: corev1.ResourceList{"cpu": resource.MustParse("4")}}}},
			want: spec{ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{{Name: "compute", Scope: "Tenant", Hard: corev1.ResourceList{"cpu": resource.MustParse("4")}},
				quota("storage", "5"), quota("gpu", "1")}}},

		{path: "limitRange", kind: inherit, class: defaults{LimitRange: &limA}, want: spec{LimitRange: &limA}},
		{path: "limitRange", kind: override, class: defaults{LimitRange: &limA}, tenant: spec{LimitRange: &limB}, want: spec{LimitRange: &limB}}, // whole, items not merged

		{path: "networkPolicy.isolation", kind: inherit, class: defaults{NetworkPolicy: n(netpol{Isolation: "Namespace"})},
			tenant: spec{NetworkPolicy: n(netpol{Egress: "None"})}, want: spec{NetworkPolicy: n(netpol{Isolation: "Namespace", Egress: "None"})}},
		{path: "networkPolicy.isolation", kind: override, class: defaults{NetworkPolicy: n(netpol{Isolation: "Namespace"})},
			tenant: spec{NetworkPolicy: n(netpol{Isolation: "Tenant"})}, want: spec{NetworkPolicy: n(netpol{Isolation: "Tenant"})}},
		{path: "networkPolicy.egress", kind: inherit, class: defaults{NetworkPolicy: n(netpol{Egress: "Tenant"})},
			tenant: spec{NetworkPolicy: n(netpol{Isolation: "Namespace"})}, want: spec{NetworkPolicy: n(netpol{Isolation: "Namespace", Egress: "Tenant"})}},
		{path: "networkPolicy.egress", kind: override, class: defaults{NetworkPolicy: n(netpol{Egress: "Tenant"})},
			tenant: spec{NetworkPolicy: n(netpol{Egress: "Namespace"})}, want: spec{NetworkPolicy: n(netpol{Egress: "Namespace"})}},
		{path: "networkPolicy.allowIngressFrom", kind: inherit, class: defaults{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerA}})},
			tenant: spec{NetworkPolicy: n(netpol{Egress: "None"})}, want: spec{NetworkPolicy: n(netpol{Egress: "None", AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerA}})}},
		{path: "networkPolicy.allowIngressFrom", kind: override, // whole, not appended
			class:  defaults{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerA}})},
			tenant: spec{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerB}})},
			want:   spec{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerB}})}},
		{path: "networkPolicy.allowIngressFrom", kind: override, // an explicit empty list is set: it clears the class's peers
			class:  defaults{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{peerA}})},
			tenant: spec{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{}})},
			want:   spec{NetworkPolicy: n(netpol{AllowIngressFrom: []networkingv1.NetworkPolicyPeer{}})}},
		{path: "networkPolicy.allowEgressTo", kind: inherit, class: defaults{NetworkPolicy: n(netpol{AllowEgressTo: []networkingv1.NetworkPolicyPeer{peerB}})},
			tenant: spec{NetworkPolicy: n(netpol{Egress: "Tenant"})}, want: spec{NetworkPolicy: n(netpol{Egress: "Tenant", AllowEgressTo: []networkingv1.NetworkPolicyPeer{peerB}})}},
		{path: "networkPolicy.allowEgressTo", kind: override,
			class:  defaults{NetworkPolicy: n(netpol{AllowEgressTo: []networkingv1.NetworkPolicyPeer{peerB}})},
			tenant: spec{NetworkPolicy: n(netpol{AllowEgressTo: []networkingv1.NetworkPolicyPeer{peerA}})},
			want:   spec{NetworkPolicy: n(netpol{AllowEgressTo: []networkingv1.NetworkPolicyPeer{peerA}})}},
		{path: "networkPolicy.policies", kind: inherit, class: defaults{NetworkPolicy: n(netpol{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{policy("dns")}})},
			tenant: spec{NetworkPolicy: n(netpol{Egress: "None"})}, want: spec{NetworkPolicy: n(netpol{Egress: "None", Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{policy("dns")}})}},
		{path: "networkPolicy.policies", kind: override, // by name
			class:  defaults{NetworkPolicy: n(netpol{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{policy("dns"), policy("web")}})},
			tenant: spec{NetworkPolicy: n(netpol{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{policy("web", "Egress"), policy("db")}})},
			want:   spec{NetworkPolicy: n(netpol{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{policy("dns"), policy("web", "Egress"), policy("db")}})}},

		{path: "deletionPolicy", kind: inherit, class: defaults{DeletionPolicy: "Delete"}, want: spec{DeletionPolicy: "Delete"}},
		{path: "deletionPolicy", kind: override, class: defaults{DeletionPolicy: "Delete"}, tenant: spec{DeletionPolicy: "Retain"}, want: spec{DeletionPolicy: "Retain"}},
		{path: "adoptionPolicy", kind: inherit, class: defaults{AdoptionPolicy: "IfUnowned"}, want: spec{AdoptionPolicy: "IfUnowned"}},
		{path: "adoptionPolicy", kind: override, class: defaults{AdoptionPolicy: "IfUnowned"}, tenant: spec{AdoptionPolicy: "Never"}, want: spec{AdoptionPolicy: "Never"}},
		{path: "driftPolicy", kind: inherit, class: defaults{DriftPolicy: "Report"}, want: spec{DriftPolicy: "Report"}},
		{path: "driftPolicy", kind: override, class: defaults{DriftPolicy: "Report"}, tenant: spec{DriftPolicy: "Correct"}, want: spec{DriftPolicy: "Correct"}},

		{path: "workloads.registries", kind: inherit, class: defaults{Workloads: w(workloads{Registries: []tenantryv1alpha1.RegistryPrefix{"ghcr.io/tier/"}})},
			tenant: spec{Workloads: w(workloads{ImagePullPolicy: "Always"})},
			want:   spec{Workloads: w(workloads{ImagePullPolicy: "Always", Registries: []tenantryv1alpha1.RegistryPrefix{"ghcr.io/tier/"}})}},
		{path: "workloads.registries", kind: override, class: defaults{Workloads: w(workloads{Registries: []tenantryv1alpha1.RegistryPrefix{"ghcr.io/tier/"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team})}},
		{path: "workloads.imagePullPolicy", kind: inherit, class: defaults{Workloads: w(workloads{ImagePullPolicy: "Always"})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, ImagePullPolicy: "Always"})}},
		{path: "workloads.imagePullPolicy", kind: override, // the CRD admits Always only; another value just shows whose wins
			class:  defaults{Workloads: w(workloads{ImagePullPolicy: "IfNotPresent"})},
			tenant: spec{Workloads: w(workloads{ImagePullPolicy: "Always"})}, want: spec{Workloads: w(workloads{ImagePullPolicy: "Always"})}},
		{path: "workloads.storageClasses", kind: inherit, class: defaults{Workloads: w(workloads{StorageClasses: names{"fast"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, StorageClasses: names{"fast"}})}},
		{path: "workloads.storageClasses", kind: override, class: defaults{Workloads: w(workloads{StorageClasses: names{"fast"}})},
			tenant: spec{Workloads: w(workloads{StorageClasses: names{"slow"}})}, want: spec{Workloads: w(workloads{StorageClasses: names{"slow"}})}},
		{path: "workloads.priorityClasses", kind: inherit, class: defaults{Workloads: w(workloads{PriorityClasses: names{"gold"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, PriorityClasses: names{"gold"}})}},
		{path: "workloads.priorityClasses", kind: override, class: defaults{Workloads: w(workloads{PriorityClasses: names{"gold"}})},
			tenant: spec{Workloads: w(workloads{PriorityClasses: names{"batch"}})}, want: spec{Workloads: w(workloads{PriorityClasses: names{"batch"}})}},
		{path: "workloads.runtimeClasses", kind: inherit, class: defaults{Workloads: w(workloads{RuntimeClasses: names{"gvisor"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, RuntimeClasses: names{"gvisor"}})}},
		{path: "workloads.runtimeClasses", kind: override, class: defaults{Workloads: w(workloads{RuntimeClasses: names{"gvisor"}})},
			tenant: spec{Workloads: w(workloads{RuntimeClasses: names{"kata"}})}, want: spec{Workloads: w(workloads{RuntimeClasses: names{"kata"}})}},
		{path: "workloads.ingressClasses", kind: inherit, class: defaults{Workloads: w(workloads{IngressClasses: names{"public"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, IngressClasses: names{"public"}})}},
		{path: "workloads.ingressClasses", kind: override, class: defaults{Workloads: w(workloads{IngressClasses: names{"public"}})},
			tenant: spec{Workloads: w(workloads{IngressClasses: names{"internal"}})}, want: spec{Workloads: w(workloads{IngressClasses: names{"internal"}})}},
		{path: "workloads.hostnames", kind: inherit, // never a class's (the CRD refuses them there): not inherited even so
			class:  defaults{Workloads: w(workloads{Hostnames: []tenantryv1alpha1.Hostname{"shared.example.com"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team})}},
		{path: "workloads.hostnames", kind: override, class: defaults{Workloads: w(workloads{Registries: team})},
			tenant: spec{Workloads: w(workloads{Hostnames: []tenantryv1alpha1.Hostname{"team.example.com"}})},
			want:   spec{Workloads: w(workloads{Registries: team, Hostnames: []tenantryv1alpha1.Hostname{"team.example.com"}})}},
		{path: "workloads.serviceTypes", kind: inherit, class: defaults{Workloads: w(workloads{ServiceTypes: []tenantryv1alpha1.ServiceType{"ClusterIP"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, ServiceTypes: []tenantryv1alpha1.ServiceType{"ClusterIP"}})}},
		{path: "workloads.serviceTypes", kind: override, class: defaults{Workloads: w(workloads{ServiceTypes: []tenantryv1alpha1.ServiceType{"ClusterIP"}})},
			tenant: spec{Workloads: w(workloads{ServiceTypes: []tenantryv1alpha1.ServiceType{"LoadBalancer"}})},
			want:   spec{Workloads: w(workloads{ServiceTypes: []tenantryv1alpha1.ServiceType{"LoadBalancer"}})}},
		{path: "workloads.nodeSelector", kind: inherit, class: defaults{Workloads: w(workloads{NodeSelector: labels{"pool": "gold"}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, NodeSelector: labels{"pool": "gold"}})}},
		{path: "workloads.nodeSelector", kind: override, // by key
			class:  defaults{Workloads: w(workloads{NodeSelector: labels{"pool": "gold", "zone": "a"}})},
			tenant: spec{Workloads: w(workloads{NodeSelector: labels{"zone": "b"}})}, want: spec{Workloads: w(workloads{NodeSelector: labels{"pool": "gold", "zone": "b"}})}},
		{path: "workloads.tolerations", kind: inherit, class: defaults{Workloads: w(workloads{Tolerations: []tenantryv1alpha1.Toleration{tolA}})},
			tenant: spec{Workloads: w(workloads{Registries: team})}, want: spec{Workloads: w(workloads{Registries: team, Tolerations: []tenantryv1alpha1.Toleration{tolA}})}},
		{path: "workloads.tolerations", kind: override, // whole, not appended
			class:  defaults{Workloads: w(workloads{Tolerations: []tenantryv1alpha1.Toleration{tolA}})},
			tenant: spec{Workloads: w(workloads{Tolerations: []tenantryv1alpha1.Toleration{tolB}})}, want: spec{Workloads: w(workloads{Tolerations: []tenantryv1alpha1.Toleration{tolB}})}},

		{path: "selfService.maxNamespaces", kind: inherit, class: defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5}},
			want: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5}}},
		{path: "selfService.maxNamespaces", kind: override, // required in a Tenant's: its 0 opts out of claiming
			class:  defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5}},
			tenant: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 0}}, want: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 0}}},
		{path: "selfService.deletionPolicy", kind: inherit, class: defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5, DeletionPolicy: "Delete"}},
			tenant: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 2}}, want: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 2, DeletionPolicy: "Delete"}}},
		{path: "selfService.deletionPolicy", kind: override, class: defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5, DeletionPolicy: "Delete"}},
			tenant: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 2, DeletionPolicy: "Retain"}},
			want:   spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 2, DeletionPolicy: "Retain"}}},
		{path: "selfService.namePrefix", kind: inherit, // never a class's (the CRD refuses it there): not inherited even so
			class: defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5, NamePrefix: "dev-"}},
			want:  spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5}}},
		{path: "selfService.namePrefix", kind: override, class: defaults{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 5, NamePrefix: "dev-"}},
			tenant: spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 1, NamePrefix: "t1-"}},
			want:   spec{SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 1, NamePrefix: "t1-"}}},
	}
}

func TestMerge(t *testing.T) {
	for _, tt := range mergeCases() {
		t.Run(tt.path+"/"+tt.kind, func(t *testing.T) {
			class, tenant := *tt.class.DeepCopy(), *tt.tenant.DeepCopy()
			got := Merge(tt.class, tt.tenant)
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Fatalf("got\n%s\nwant\n%s", g, w)
			}
			if !reflect.DeepEqual(class, tt.class) || !reflect.DeepEqual(tenant, tt.tenant) {
				t.Fatal("Merge modified its arguments")
			}
		})
	}
}

// TestMergeTouchesNoTenantOnlyField: owners, namespaces and class are the
// Tenant's alone; no class has them.
func TestMergeTouchesNoTenantOnlyField(t *testing.T) {
	tn := spec{Owners: []tenantryv1alpha1.Subject{{Kind: "User", Name: "u"}}, Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: "n"}}, Class: "gold"}
	if got := Merge(classDefaults(), tn); !reflect.DeepEqual(got.Owners, tn.Owners) || !reflect.DeepEqual(got.Namespaces, tn.Namespaces) || got.Class != "gold" {
		t.Fatalf("%+v", got)
	}
	for _, f := range []string{"Owners", "Namespaces", "Class"} {
		if _, ok := reflect.TypeFor[defaults]().FieldByName(f); ok {
			t.Errorf("TenantDefaults has %s, which is a Tenant's own", f)
		}
	}
}

// leafPaths are the fields TenantDefaults holds, as JSON paths: structs of
// the API package are walked into, except those taken whole (limitRange);
// lists, maps and other types are leaves.
func leafPaths(typ reflect.Type, prefix string) []string {
	var out []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		path := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() && path != "limitRange" {
			out = append(out, leafPaths(ft, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// TestEveryDefaultHasAMergeRule fails when a field is added to
// TenantDefaults (or to a struct inside it) without rows for it in
// mergeCases, and when the class's value of any field does not reach a
// Tenant that leaves it unset.
func TestEveryDefaultHasAMergeRule(t *testing.T) {
	covered := map[string][]string{}
	for _, c := range mergeCases() {
		covered[c.path] = append(covered[c.path], c.kind)
	}
	paths := leafPaths(reflect.TypeFor[defaults](), "")
	if len(paths) < 30 {
		t.Fatalf("only %d fields found: %v", len(paths), paths)
	}
	neverInherited := []string{"workloads.hostnames", "selfService.namePrefix"}
	for _, p := range paths {
		if !slices.Contains(covered[p], inherit) || !slices.Contains(covered[p], override) {
			t.Errorf("%s: no %s and %s rows in mergeCases (is there a merge rule for it?)", p, inherit, override)
		}
		if slices.Contains(neverInherited, p) {
			continue
		}
		var d defaults
		want := at(reflect.ValueOf(&d).Elem(), p, true)
		fill(want)
		got := Merge(d, spec{})
		if v := at(reflect.ValueOf(&got).Elem(), p, false); !v.IsValid() || !reflect.DeepEqual(v.Interface(), want.Interface()) {
			t.Errorf("%s: the class's value does not reach a Tenant that sets none", p)
		}
	}
	for p := range covered {
		if !slices.Contains(paths, p) {
			t.Errorf("mergeCases covers %s, which TenantDefaults does not have", p)
		}
	}
}

// at is the field at a JSON path in v; alloc makes the pointers on the way,
// otherwise a nil one gives the zero Value.
func at(v reflect.Value, path string, alloc bool) reflect.Value {
	for name := range strings.SplitSeq(path, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		for i := range v.NumField() {
			if n, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); n == name {
				v = v.Field(i)
				break
			}
		}
	}
	return v
}

// fill gives v a value other than its zero: one element for lists and
// maps, every exported field for structs.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}
