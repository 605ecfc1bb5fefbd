package kinds

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"
)

// byGroup is a set of resources by API group, each group's sorted.
type byGroup map[string][]string

func (g byGroup) add(group string, resources ...string) {
	g[group] = append(g[group], resources...)
	slices.Sort(g[group])
	g[group] = slices.Compact(g[group])
}

func (g byGroup) equal(o byGroup) bool { return maps.EqualFunc(g, o, slices.Equal[[]string]) }

// registryResources is the registry's resources by group; with subresources
// also "<resource>/*" for each.
func registryResources(t *testing.T, subresources bool) byGroup {
	t.Helper()
	out := byGroup{}
	for _, k := range All() {
		gvk, err := apiutil.GVKForObject(k.New(), clientgoscheme.Scheme)
		if err != nil {
			t.Fatal(err)
		}
		out.add(gvk.Group, k.Resource)
		if subresources {
			out.add(gvk.Group, k.Resource+"/*")
		}
	}
	return out
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// manifest returns the document of path with kind and name, decoded into obj.
func manifest(t *testing.T, path, kind, name string, obj any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docSeparator.Split(string(data), -1) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal([]byte(doc), &head) != nil || head.Kind != kind || head.Metadata.Name != name {
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %s %s: %v", path, kind, name, err)
		}
		return
	}
	t.Fatalf("%s: no %s %s", path, kind, name)
}

// rulesWith collects the resources of the rules (no resourceNames) that
// grant every one of verbs, the tenantry.io group left out.
func rulesWith(rules []rbacv1.PolicyRule, verbs ...string) byGroup {
	out := byGroup{}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || !allIn(verbs, r.Verbs) {
			continue
		}
		for _, g := range r.APIGroups {
			if g != "tenantry.io" {
				out.add(g, r.Resources...)
			}
		}
	}
	return out
}

func allIn(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// TestManifestsListEveryKind: the resource lists kept by hand in config/
// name exactly the registry's kinds, so that a new kind cannot be left out
// of the operator's RBAC (generated from the markers in internal/controller),
// the plan's read-only role, or the two policies that fence every write to
// a managed object.
func TestManifestsListEveryKind(t *testing.T) {
	for file, name := range map[string]string{"operator_fence.yaml": "operator-fence", "protect_managed_objects.yaml": "protect-managed-objects"} {
		var p admissionregistrationv1.ValidatingAdmissionPolicy
		manifest(t, "../../config/policies/"+file, "ValidatingAdmissionPolicy", name, &p)
		got := byGroup{}
		for _, r := range p.Spec.MatchConstraints.ResourceRules {
			if !allIn([]string{"CREATE", "UPDATE", "DELETE"}, opNames(r.Operations)) {
				t.Errorf("%s: rule %v does not cover create, update and delete", file, r.Resources)
			}
			for _, g := range r.APIGroups {
				got.add(g, r.Resources...)
			}
		}
		want := registryResources(t, true)
		if file == "operator_fence.yaml" {
			// The fence also holds the operator to the one ConfigMap it
			// writes, the hostname grant table (GrantTableName).
			want.add("", "configmaps")
		}
		if !got.equal(want) {
			t.Errorf("config/policies/%s matches %v, the registry's kinds are %v", file, got, want)
		}
	}

	var operator rbacv1.ClusterRole
	manifest(t, "../../config/rbac/role.yaml", "ClusterRole", "manager-role", &operator)
	if got, want := rulesWith(operator.Rules, "get", "list", "watch", "create", "update", "patch", "delete"), registryResources(t, false); !got.equal(want) {
		t.Errorf("config/rbac/role.yaml (the +kubebuilder:rbac markers) grants the operator %v, the registry's kinds are %v", got, want)
	}

	var planRole rbacv1.ClusterRole
	manifest(t, "../../config/rbac/plan_role.yaml", "ClusterRole", "tenantry-plan", &planRole)
	if got, want := rulesWith(planRole.Rules, "get", "list"), registryResources(t, false); !got.equal(want) {
		t.Errorf("config/rbac/plan_role.yaml lets the plan read %v, the registry's kinds are %v", got, want)
	}
}

func opNames(ops []admissionregistrationv1.OperationType) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = string(o)
	}
	return out
}
