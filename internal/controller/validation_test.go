package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// validTenantYAML is the base every case changes one thing of.
const validTenantYAML = `
apiVersion: tenantry.io/v1alpha1
kind: Tenant
metadata:
  name: valid
spec:
  owners:
  - {kind: Group, name: admins, apiGroup: rbac.authorization.k8s.io}
  namespaces:
  - name: valid-a
`

// TestValidationRefusesBadTenants: every invalid shape of the contract is
// refused by the API server at create, with a message naming the field, and
// nothing is stored.
func TestValidationRefusesBadTenants(t *testing.T) {
	cases := []struct {
		name string
		set  string // YAML merged into the base spec (replaces top-level keys)
		meta string // replaces metadata.name when set
		want []string
	}{
		{name: "owners missing", set: `{"owners": null}`, want: []string{"spec.owners", "Required value"}},
		{name: "owners empty", set: `{"owners": []}`, want: []string{"spec.owners", "should have at least 1 items"}},
		{name: "owner kind invalid", set: `{"owners": [{"kind": "Robot", "name": "r2"}]}`, want: []string{"spec.owners", "kind must be one of User, Group, ServiceAccount"}},
		{name: "owner ServiceAccount without namespace", set: `{"owners": [{"kind": "ServiceAccount", "name": "ci"}]}`, want: []string{"spec.owners", "ServiceAccount subject needs a namespace"}},
		{name: "owner name empty", set: `{"owners": [{"kind": "User", "name": ""}]}`, want: []string{"spec.owners", "name must not be empty"}},
		{name: "more than 32 owners", set: `{"owners": ` + repeatJSON(`{"kind":"User","name":"u"}`, 33) + `}`, want: []string{"spec.owners", "must have at most 32 items"}},
		{name: "namespaces missing", set: `{"namespaces": null}`, want: []string{"spec.namespaces", "Required value"}},
		{name: "namespaces empty", set: `{"namespaces": []}`, want: []string{"spec.namespaces", "should have at least 1 items"}},
		{name: "namespace name not a DNS label", set: `{"namespaces": [{"name": "Team_A"}]}`, want: []string{"spec.namespaces[0].name", "should match"}},
		{name: "namespace name too long", set: `{"namespaces": [{"name": "` + strings.Repeat("a", 64) + `"}]}`, want: []string{"spec.namespaces[0].name", "may not be more than 63"}},
		{name: "duplicate namespace", set: `{"namespaces": [{"name": "dup"}, {"name": "dup"}]}`, want: []string{"spec.namespaces[1]", "Duplicate value"}},
		{name: "more than 128 namespaces", set: `{"namespaces": ` + manyNamespaces(129) + `}`, want: []string{"spec.namespaces", "must have at most 128 items"}},
		{name: "reserved label on a namespace", set: `{"namespaces": [{"name": "x", "labels": {"tenantry.io/tenant": "other"}}]}`, want: []string{"spec.namespaces[0].labels", "reserved"}},
		{name: "PSA label smuggled through namespaceMetadata", set: `{"namespaceMetadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}`, want: []string{"spec.namespaceMetadata.labels", "reserved"}},
		{name: "unknown podSecurity level", set: `{"podSecurity": {"enforce": "lenient"}}`, want: []string{"spec.podSecurity.enforce", "Unsupported value", "lenient"}},
		{name: "unknown per-namespace podSecurity level", set: `{"namespaces": [{"name": "x", "podSecurity": {"warn": "none"}}]}`, want: []string{"spec.namespaces[0].podSecurity.warn", "Unsupported value"}},
		{name: "bad enforceVersion", set: `{"podSecurity": {"enforceVersion": "1.37"}}`, want: []string{"spec.podSecurity.enforceVersion", "should match"}},
		{name: "roleBinding name not a DNS label", set: `{"roleBindings": [{"name": "Auditors!", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}]}`, want: []string{"spec.roleBindings[0].name", "should match"}},
		{name: "duplicate roleBinding name", set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}, {"name": "a", "clusterRole": "edit", "subjects": [{"kind": "Group", "name": "b"}]}]}`, want: []string{"spec.roleBindings[1]", "Duplicate value"}},
		{name: "roleBinding named owner (reserved)", set: `{"roleBindings": [{"name": "owner", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}]}`, want: []string{"spec.roleBindings", "reserved"}},
		{name: "roleBinding subject kind invalid", set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": [{"kind": "Team", "name": "a"}]}]}`, want: []string{"spec.roleBindings[0].subjects", "kind must be one of"}},
		{name: "roleBinding without subjects", set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": []}]}`, want: []string{"spec.roleBindings[0].subjects", "at least 1 items"}},
		{name: "duplicate quota name", set: `{"resourceQuotas": [{"name": "q", "hard": {"pods": "1"}}, {"name": "q", "hard": {"pods": "2"}}]}`, want: []string{"spec.resourceQuotas[1]", "Duplicate value"}},
		{name: "quota name not a DNS label", set: `{"resourceQuotas": [{"name": "Q.1", "hard": {"pods": "1"}}]}`, want: []string{"spec.resourceQuotas[0].name", "should match"}},
		{name: "quota quantity invalid", set: `{"resourceQuotas": [{"name": "q", "hard": {"pods": "lots"}}]}`, want: []string{"spec.resourceQuotas[0].hard.pods", "should match"}},
		{name: "quota without hard limits", set: `{"resourceQuotas": [{"name": "q", "hard": {}}]}`, want: []string{"spec.resourceQuotas[0].hard", "at least 1 properties"}},
		{name: "duplicate policy name", set: `{"networkPolicy": {"policies": [{"name": "p", "spec": {"podSelector": {}}}, {"name": "p", "spec": {"podSelector": {}}}]}}`, want: []string{"spec.networkPolicy.policies[1]", "Duplicate value"}},
		{name: "policy name not a DNS label", set: `{"networkPolicy": {"policies": [{"name": "-p", "spec": {"podSelector": {}}}]}}`, want: []string{"spec.networkPolicy.policies[0].name", "should match"}},
		{name: "policy named isolation (reserved)", set: `{"networkPolicy": {"policies": [{"name": "isolation", "spec": {"podSelector": {}}}]}}`, want: []string{"spec.networkPolicy.policies", "reserved"}},
		{name: "unknown isolation", set: `{"networkPolicy": {"isolation": "Cluster"}}`, want: []string{"spec.networkPolicy.isolation", "Unsupported value", "Cluster"}},
		{name: "unknown deletionPolicy", set: `{"deletionPolicy": "Purge"}`, want: []string{"spec.deletionPolicy", "Unsupported value"}},
		{name: "unknown adoptionPolicy", set: `{"adoptionPolicy": "Always"}`, want: []string{"spec.adoptionPolicy", "Unsupported value"}},
		{name: "unknown driftPolicy", set: `{"driftPolicy": "Ignore"}`, want: []string{"spec.driftPolicy", "Unsupported value"}},
		{name: "limitRange without limits", set: `{"limitRange": {"limits": []}}`, want: []string{"spec.limitRange.limits", "at least 1 items"}},
		{name: "tenant name not a DNS label", meta: "team.a", want: []string{"metadata.name", "DNS label"}},
	}
	if len(cases) < 20 {
		t.Fatalf("the contract asks for at least 20 cases, have %d", len(cases))
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := tenantFromYAML(t, validTenantYAML, tc.set)
			if tc.meta != "" {
				obj.SetName(tc.meta)
			}
			err := k8s.Create(ctx, obj)
			if err == nil {
				_ = k8s.Delete(ctx, obj)
				t.Fatal("invalid Tenant was accepted")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), got); !apierrors.IsNotFound(err) {
				t.Fatalf("nothing may be stored for a refused Tenant, Get: %v", err)
			}
		})
	}
	// The base is valid: the table tests what it claims to.
	ok := tenantFromYAML(t, validTenantYAML, "")
	if err := k8s.Create(ctx, ok, client.DryRunAll); err != nil {
		t.Fatalf("the valid base Tenant was refused: %v", err)
	}
}

// tenantFromYAML parses base and merges set (JSON) into its spec.
func tenantFromYAML(t *testing.T, base, set string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(base), &obj.Object); err != nil {
		t.Fatal(err)
	}
	if set != "" {
		var patch map[string]any
		if err := json.Unmarshal([]byte(set), &patch); err != nil {
			t.Fatalf("case JSON: %v", err)
		}
		spec := obj.Object["spec"].(map[string]any)
		for k, v := range patch {
			if v == nil {
				delete(spec, k)
			} else {
				spec[k] = v
			}
		}
	}
	return obj
}

func repeatJSON(item string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func manyNamespaces(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"name":"ns-%d"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
