package render

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
)

var opts = effective.Options{DefaultOwnerClusterRole: "admin"}

// eff is the effective spec of a test Tenant.
func eff(tn *tenantryv1alpha1.Tenant) *effective.Tenant { return effective.Of(tn, opts) }

// all renders every object of a Tenant whose namespaces are all in place.
func all(e *effective.Tenant) []Object {
	var out []Object
	for _, ns := range e.Spec.Namespaces {
		out = append(out, Namespace(e, ns, e.Hostnames()))
	}
	for _, ns := range e.Spec.Namespaces {
		out = append(out, Children(e, ns.Name, true)...)
	}
	return append(out, ClusterRBAC(e, e.NamespaceNames())...)
}

func baseTenant() *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", UID: "uid-1"},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: "team-a-admins"}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: "team-a-dev"}},
		},
	}
}

// asMap renders an apply configuration as the JSON the API server receives.
func asMap(t *testing.T, o Object) map[string]any {
	t.Helper()
	data, err := json.Marshal(o.Apply)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func TestNamespaceLabelsAndAnnotations(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(*tenantryv1alpha1.Tenant)
		labels      map[string]any
		annotations map[string]any
	}{{
		name: "defaults: restricted everywhere, ownership marks",
		labels: map[string]any{
			"tenantry.io/tenant": "team-a", "app.kubernetes.io/managed-by": "tenantry",
			PSAEnforce: "restricted", PSAEnforceVersion: "latest",
			PSAAudit: "restricted", PSAAuditVersion: "latest",
			PSAWarn: "restricted", PSAWarnVersion: "latest",
		},
		annotations: map[string]any{"tenantry.io/tenant-uid": "uid-1", "tenantry.io/isolation": "Tenant"},
	}, {
		name: "namespace metadata, per-namespace labels win, marks cannot be overridden",
		mutate: func(t *tenantryv1alpha1.Tenant) {
			t.Spec.NamespaceMetadata = &tenantryv1alpha1.NamespaceMetadata{
				Labels:      map[string]tenantryv1alpha1.LabelValue{"cost-center": "1", "env": "shared", "tenantry.io/tenant": "evil"},
				Annotations: map[string]string{"a": "1", "b": "shared", "tenantry.io/tenant-uid": "forged"},
			}
			t.Spec.Namespaces[0].Labels = map[string]tenantryv1alpha1.LabelValue{"env": "dev"}
			t.Spec.Namespaces[0].Annotations = map[string]string{"b": "ns"}
		},
		labels: map[string]any{
			"tenantry.io/tenant": "team-a", "app.kubernetes.io/managed-by": "tenantry",
			"cost-center": "1", "env": "dev",
			PSAEnforce: "restricted", PSAEnforceVersion: "latest",
			PSAAudit: "restricted", PSAAuditVersion: "latest",
			PSAWarn: "restricted", PSAWarnVersion: "latest",
		},
		annotations: map[string]any{"a": "1", "b": "ns", "tenantry.io/tenant-uid": "uid-1", "tenantry.io/isolation": "Tenant"},
	}, {
		name: "spec pod security, audit and warn follow enforce, per-namespace override wins",
		mutate: func(t *tenantryv1alpha1.Tenant) {
			t.Spec.PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: "baseline", EnforceVersion: "v1.37", Warn: "restricted"}
			t.Spec.Namespaces[0].PodSecurity = &tenantryv1alpha1.PodSecurity{Enforce: "privileged"}
		},
		labels: map[string]any{
			"tenantry.io/tenant": "team-a", "app.kubernetes.io/managed-by": "tenantry",
			PSAEnforce: "privileged", PSAEnforceVersion: "v1.37",
			PSAAudit: "privileged", PSAAuditVersion: "v1.37",
			PSAWarn: "restricted", PSAWarnVersion: "v1.37",
		},
		annotations: map[string]any{"tenantry.io/tenant-uid": "uid-1", "tenantry.io/isolation": "Tenant"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := baseTenant()
			if tt.mutate != nil {
				tt.mutate(tn)
			}
			o := Namespace(eff(tn), tn.Spec.Namespaces[0], nil)
			if o.Kind != kinds.Namespace || o.Name != "team-a-dev" || o.Namespace != "" {
				t.Fatalf("identity: %+v", o)
			}
			m := asMap(t, o)
			if got := get(m, "metadata", "labels"); !reflect.DeepEqual(got, tt.labels) {
				t.Errorf("labels:\n got %v\nwant %v", got, tt.labels)
			}
			if got := get(m, "metadata", "annotations"); tt.annotations != nil && !reflect.DeepEqual(got, tt.annotations) || tt.annotations == nil && got != nil {
				t.Errorf("annotations: got %v want %v", got, tt.annotations)
			}
			if get(m, "metadata", "ownerReferences") != nil {
				t.Error("a namespace must never get an ownerReference")
			}
		})
	}
}

func TestReleasedNamespaceOwnsNothing(t *testing.T) {
	m := asMap(t, ReleasedNamespace("team-a-dev"))
	if get(m, "metadata", "labels") != nil || get(m, "metadata", "annotations") != nil {
		t.Fatalf("released namespace must carry no fields: %v", m)
	}
}

func TestChildren(t *testing.T) {
	tn := baseTenant()
	tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{
		Name: "auditors", ClusterRole: "view",
		Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "auditors"}, {Kind: "ServiceAccount", Name: "ci", Namespace: "ci"}},
	}}
	tn.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{
		Name: "compute", Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("0.5"), "pods": resource.MustParse("10")},
		Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating},
	}, {
		Name: "prio", Hard: corev1.ResourceList{"pods": resource.MustParse("1")},
		ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
			ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}},
	}}
	tn.Spec.LimitRange = &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer,
		Max:  corev1.ResourceList{"cpu": resource.MustParse("2")},
		Min:  corev1.ResourceList{"memory": resource.MustParse("64Mi")},
	}}}
	port := intstr.FromInt32(53)
	tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{
		AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}}},
		Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{{Name: "dns", Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &port}}}},
		}}},
	}

	objs := Children(eff(tn), "team-a-dev", true)
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key())
	}
	wantKeys := []string{
		"ResourceQuota/team-a-dev/tenantry-compute", "ResourceQuota/team-a-dev/tenantry-prio",
		"LimitRange/team-a-dev/tenantry-defaults",
		"RoleBinding/team-a-dev/tenantry-owner", "RoleBinding/team-a-dev/tenantry-auditors",
		"NetworkPolicy/team-a-dev/tenantry-isolation", "NetworkPolicy/team-a-dev/tenantry-dns",
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("children:\n got %v\nwant %v", keys, wantKeys)
	}
	byKey := map[string]map[string]any{}
	for _, o := range objs {
		m := asMap(t, o)
		byKey[o.Key()] = m
		if get(m, "metadata", "labels", "tenantry.io/tenant") != "team-a" || get(m, "metadata", "labels", "app.kubernetes.io/managed-by") != "tenantry" {
			t.Errorf("%s: ownership labels missing: %v", o.Key(), get(m, "metadata", "labels"))
		}
		refs, _ := get(m, "metadata", "ownerReferences").([]any)
		if len(refs) != 1 || !reflect.DeepEqual(refs[0], map[string]any{
			"apiVersion": "tenantry.io/v1alpha1", "kind": "Tenant", "name": "team-a", "uid": "uid-1",
			"controller": true, "blockOwnerDeletion": true,
		}) {
			t.Errorf("%s: ownerReferences = %v", o.Key(), refs)
		}
	}

	cases := []struct {
		key  string
		path []string
		want any
	}{
		{"ResourceQuota/team-a-dev/tenantry-compute", []string{"spec", "hard"}, map[string]any{"requests.cpu": "500m", "pods": "10"}},
		{"ResourceQuota/team-a-dev/tenantry-compute", []string{"spec", "scopes"}, []any{"NotTerminating"}},
		{"ResourceQuota/team-a-dev/tenantry-prio", []string{"spec", "scopeSelector"}, map[string]any{"matchExpressions": []any{
			map[string]any{"scopeName": "PriorityClass", "operator": "In", "values": []any{"high"}}}}},
		// The server's LimitRange defaulting is rendered in: default from max, defaultRequest from default, then min.
		{"LimitRange/team-a-dev/tenantry-defaults", []string{"spec", "limits"}, []any{map[string]any{
			"type": "Container", "max": map[string]any{"cpu": "2"}, "min": map[string]any{"memory": "64Mi"},
			"default": map[string]any{"cpu": "2"}, "defaultRequest": map[string]any{"cpu": "2", "memory": "64Mi"}}}},
		{"RoleBinding/team-a-dev/tenantry-owner", []string{"roleRef"}, map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}},
		{"RoleBinding/team-a-dev/tenantry-owner", []string{"subjects"}, []any{map[string]any{"kind": "Group", "name": "team-a-admins", "apiGroup": "rbac.authorization.k8s.io"}}},
		{"RoleBinding/team-a-dev/tenantry-auditors", []string{"roleRef", "name"}, "view"},
		{"RoleBinding/team-a-dev/tenantry-auditors", []string{"subjects"}, []any{
			map[string]any{"kind": "Group", "name": "auditors", "apiGroup": "rbac.authorization.k8s.io"},
			map[string]any{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}}},
		{"NetworkPolicy/team-a-dev/tenantry-isolation", []string{"spec"}, map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
			"ingress": []any{map[string]any{"from": []any{
				map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"tenantry.io/tenant": "team-a"}}},
				map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}},
			}}}}},
		// Port protocol is defaulted to TCP as the server would.
		{"NetworkPolicy/team-a-dev/tenantry-dns", []string{"spec"}, map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"ports": []any{map[string]any{"port": float64(53), "protocol": "TCP"}}}}}},
	}
	for _, c := range cases {
		if got := get(byKey[c.key], c.path...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v:\n got %#v\nwant %#v", c.key, c.path, got, c.want)
		}
	}
}

func TestIsolationPresets(t *testing.T) {
	tests := []struct {
		isolation tenantryv1alpha1.NetworkIsolation
		selector  map[string]any
	}{
		{"", map[string]any{"tenantry.io/tenant": "team-a"}},
		{tenantryv1alpha1.NetworkIsolationTenant, map[string]any{"tenantry.io/tenant": "team-a"}},
		{tenantryv1alpha1.NetworkIsolationNamespace, map[string]any{"kubernetes.io/metadata.name": "team-a-dev"}},
		{tenantryv1alpha1.NetworkIsolationNone, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.isolation), func(t *testing.T) {
			tn := baseTenant()
			tn.Spec.NetworkPolicy = &tenantryv1alpha1.TenantNetworkPolicy{Isolation: tt.isolation}
			var iso map[string]any
			for _, o := range Children(eff(tn), "team-a-dev", true) {
				if o.Name == IsolationPolicy {
					iso = asMap(t, o)
				}
			}
			if tt.selector == nil {
				if iso != nil {
					t.Fatal("isolation None must not render tenantry-isolation")
				}
				return
			}
			from := get(iso, "spec", "ingress").([]any)[0].(map[string]any)["from"].([]any)
			got := get(from[0].(map[string]any), "namespaceSelector", "matchLabels")
			if !reflect.DeepEqual(got, tt.selector) {
				t.Fatalf("selector: got %v want %v", got, tt.selector)
			}
		})
	}
}

func TestRolesAndOwnerRole(t *testing.T) {
	tn := baseTenant()
	tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "x", ClusterRole: "cluster-admin"}, {Name: "y", ClusterRole: "view"}}
	if got := eff(tn).ClusterRoles(); !reflect.DeepEqual(got, []string{"admin", "cluster-admin", "view"}) {
		t.Fatalf("ClusterRoles = %v", got)
	}
	tn.Spec.OwnerClusterRole = "edit"
	if eff(tn).Spec.OwnerClusterRole != "edit" {
		t.Fatal("spec.ownerClusterRole must win over the default")
	}
	for _, o := range Children(eff(tn), "team-a-dev", false) {
		if o.Kind == kinds.RoleBinding {
			t.Fatalf("bindRoles=false must render no RoleBinding, got %s", o.Key())
		}
	}
}

func TestClusterRBAC(t *testing.T) {
	tn := baseTenant()
	objs := ClusterRBAC(eff(tn), []string{"team-a-dev"})
	if len(objs) != 2 || objs[0].Key() != "ClusterRole/tenantry:tenant:team-a" || objs[1].Key() != "ClusterRoleBinding/tenantry:tenant:team-a" {
		t.Fatalf("cluster RBAC = %v", objs)
	}
	rules := get(asMap(t, objs[0]), "rules")
	want := []any{
		map[string]any{"apiGroups": []any{"tenantry.io"}, "resources": []any{"tenants"}, "resourceNames": []any{"team-a"}, "verbs": []any{"get", "watch"}},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"namespaces"}, "resourceNames": []any{"team-a-dev"}, "verbs": []any{"get"}},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Fatalf("rules:\n got %v\nwant %v", rules, want)
	}
	if got := get(asMap(t, objs[1]), "roleRef", "name"); got != "tenantry:tenant:team-a" {
		t.Fatalf("binding roleRef = %v", got)
	}
	// No namespace of its own yet: the namespace rule must vanish, never widen to all namespaces.
	if rules := get(asMap(t, ClusterRBAC(eff(tn), nil)[0]), "rules").([]any); len(rules) != 1 {
		t.Fatalf("with no namespaces, rules = %v", rules)
	}
}

func TestDesiredIsDeterministic(t *testing.T) {
	tn := baseTenant()
	tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: "team-a-prod"})
	tn.Spec.NamespaceMetadata = &tenantryv1alpha1.NamespaceMetadata{Labels: map[string]tenantryv1alpha1.LabelValue{"a": "1", "b": "2", "c": "3"}}
	first, _ := json.Marshal(objectsApply(all(eff(tn))))
	for range 20 {
		again, _ := json.Marshal(objectsApply(all(eff(tn))))
		if string(again) != string(first) {
			t.Fatal("Desired is not deterministic")
		}
	}
	if n := len(all(eff(tn))); n != 2+2*2+2 {
		t.Fatalf("Desired: %d objects, want 8 (2 namespaces, owner binding and isolation policy in each, 2 cluster RBAC)", n)
	}
}

func objectsApply(objs []Object) []any {
	out := make([]any, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Apply)
	}
	return out
}
