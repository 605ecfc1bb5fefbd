package effective

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/crdvalidation"
	"github.com/tenantry/tenantry/test/tenantgen"
)

func quota(name, pods string) tenantryv1alpha1.TenantResourceQuota {
	return tenantryv1alpha1.TenantResourceQuota{Name: name, Hard: corev1.ResourceList{"pods": resource.MustParse(pods)}}
}

func classDefaults() tenantryv1alpha1.TenantDefaults {
	return tenantryv1alpha1.TenantDefaults{
		OwnerClusterRole: "edit",
		RoleBindings:     []tenantryv1alpha1.TenantRoleBinding{{Name: "auditors", ClusterRole: "view"}, {Name: "ci", ClusterRole: "edit"}},
		NamespaceMetadata: &tenantryv1alpha1.NamespaceMetadata{
			Labels: map[string]tenantryv1alpha1.LabelValue{"tier": "gold", "env": "shared"}, Annotations: map[string]string{"a": "class"}},
		PodSecurity:    &tenantryv1alpha1.PodSecurity{Enforce: tenantryv1alpha1.PodSecurityBaseline, Audit: tenantryv1alpha1.PodSecurityRestricted},
		ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{quota("compute", "10"), quota("storage", "5")},
		LimitRange:     &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}},
		NetworkPolicy: &tenantryv1alpha1.TenantNetworkPolicy{Isolation: tenantryv1alpha1.NetworkIsolationNamespace,
			AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
			Policies:         []tenantryv1alpha1.TenantExtraNetworkPolicy{{Name: "dns"}, {Name: "web"}}},
		DeletionPolicy: tenantryv1alpha1.DeletionPolicyDelete,
		AdoptionPolicy: tenantryv1alpha1.AdoptionPolicyIfUnowned,
		DriftPolicy:    tenantryv1alpha1.DriftPolicyReport,
	}
}

func TestClassInputs(t *testing.T) {
	tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "t", UID: "u", Generation: 4}}
	tn.Spec.Class = "gold"
	class := &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 7}, Spec: tenantryv1alpha1.TenantClassSpec{Defaults: classDefaults()}}
	e := WithClass(tn, class, Options{})
	if !e.ClassFound || e.ClassGeneration != 7 || e.Spec.DriftPolicy != tenantryv1alpha1.DriftPolicyReport {
		t.Fatalf("effective %+v", e)
	}
	missing := WithClass(tn, nil, Options{})
	if missing.ClassFound || missing.Hash == e.Hash {
		t.Fatal("a missing class is another input")
	}
	changed := class.DeepCopy()
	changed.Spec.Defaults.ResourceQuotas[0].Hard["pods"] = resource.MustParse("11")
	if WithClass(tn, changed, Options{}).Hash == e.Hash {
		t.Fatal("a class's new defaults must move the inputs hash")
	}
	if !e.Observed(tenantryv1alpha1.TenantStatus{ObservedGeneration: 4, ClassGeneration: 7}) ||
		e.Observed(tenantryv1alpha1.TenantStatus{ObservedGeneration: 4, ClassGeneration: 6}) {
		t.Fatal("a spec is observed only once its class's generation is too")
	}
}

// FuzzMerge: merging the spec of any Tenant the CRD admits over any class
// defaults never panics, is deterministic, and keeps every field the Tenant
// set.
func FuzzMerge(f *testing.F) {
	for _, seed := range [][2][]byte{{nil, nil}, {{1, 2, 3}, {9, 9}}, {[]byte("tenant"), []byte("class")}} {
		f.Add(seed[0], seed[1])
	}
	v, err := crdvalidation.Tenants()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tenantBytes, classBytes []byte) {
		if len(v.Admit(tenantgen.Tenant(tenantBytes))) > 0 {
			return // the API server refuses it (duplicate list keys, for one): nothing to merge
		}
		spec := specOf(t, tenantBytes)
		var d tenantryv1alpha1.TenantDefaults
		data, _ := json.Marshal(specOf(t, classBytes))
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		first, again := Merge(d, spec), Merge(*d.DeepCopy(), *spec.DeepCopy())
		a, _ := json.Marshal(first)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("not deterministic:\n%s\n%s", a, b)
		}
		if spec.OwnerClusterRole != "" && first.OwnerClusterRole != spec.OwnerClusterRole ||
			spec.DriftPolicy != "" && first.DriftPolicy != spec.DriftPolicy ||
			len(first.ResourceQuotas) < len(spec.ResourceQuotas) || len(first.RoleBindings) < len(spec.RoleBindings) ||
			!reflect.DeepEqual(first.Owners, spec.Owners) || !reflect.DeepEqual(first.Namespaces, spec.Namespaces) {
			t.Fatalf("the Tenant's fields must win:\n%s", a)
		}
	})
}

func specOf(t *testing.T, data []byte) tenantryv1alpha1.TenantSpec {
	u := tenantgen.Tenant(data)
	tn := &tenantryv1alpha1.Tenant{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, tn); err != nil {
		return tenantryv1alpha1.TenantSpec{} // a shape the Go type cannot hold: the API server refuses it
	}
	return tn.Spec
}
