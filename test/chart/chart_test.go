// Package chart proves the Helm chart (default values) and config/default
// install the same thing, so the two ways to install can never drift apart.
package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

func parse(t *testing.T, data []byte) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		out[u.GetKind()+"/"+u.GetName()] = u
	}
}

// rendered returns the objects of config/default and of the chart.
func rendered(t *testing.T) (kustomize, helm map[string]*unstructured.Unstructured) {
	t.Helper()
	root := repoRoot(t)
	kubectl := filepath.Join(root, "bin", "k8s", "1.37.2", "kubectl")
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		kubectl = filepath.Join(dir, "kubectl")
	}
	kustomize = parse(t, run(t, root, kubectl, "kustomize", "config/default"))
	// A 1.37 cluster serves MutatingAdmissionPolicy; helm template learns
	// the API versions from the flag (Argo CD passes the cluster's).
	helm = parse(t, run(t, root, "go", "tool", "-modfile=hack/helm/go.mod", "helm", "template", "tenantry", "charts/tenantry",
		"--namespace", "tenantry-system", "--include-crds", "--kube-version", "1.37.2",
		"--api-versions", mapAPIVersion))
	return kustomize, helm
}

const mapAPIVersion = "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy"

// objectKeys are the kinds and names of objs, Namespaces left out (Helm's to
// create with --create-namespace).
func objectKeys(objs map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range objs {
		if !strings.HasPrefix(k, "Namespace/") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Where MutatingAdmissionPolicy is not served (before 1.36), the chart
// leaves out the node-selector policy, as config/pre-1.36 does.
func TestChartLeavesOutTheMutatingPolicyWhereNotServed(t *testing.T) {
	root := repoRoot(t)
	kubectl := filepath.Join(root, "bin", "k8s", "1.37.2", "kubectl")
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		kubectl = filepath.Join(dir, "kubectl")
	}
	pre := objectKeys(parse(t, run(t, root, kubectl, "kustomize", "config/pre-1.36")))
	for _, args := range [][]string{
		{"--kube-version", "1.35.4", "--api-versions", mapAPIVersion}, // served only from 1.36
		{"--kube-version", "1.37.2"},                                  // not in the cluster's API versions
	} {
		helm := parse(t, run(t, root, "go", append([]string{"tool", "-modfile=hack/helm/go.mod", "helm", "template", "tenantry", "charts/tenantry",
			"--namespace", "tenantry-system", "--include-crds"}, args...)...))
		if got := objectKeys(helm); !reflect.DeepEqual(got, pre) {
			t.Errorf("helm template %v differs from config/pre-1.36:\nhelm %v\npre  %v", args, got, pre)
		}
	}
	if slices.ContainsFunc(pre, func(k string) bool { return strings.HasPrefix(k, "MutatingAdmissionPolicy") }) {
		t.Errorf("config/pre-1.36 keeps the MutatingAdmissionPolicy: %v", pre)
	}
}

func TestChartAndKustomizeInstallTheSameObjects(t *testing.T) {
	kustomize, helm := rendered(t)

	// Same kinds and names. The namespace is Helm's to create (--create-namespace).
	kKeys, hKeys := objectKeys(kustomize), objectKeys(helm)
	if !reflect.DeepEqual(kKeys, hKeys) {
		t.Fatalf("objects differ:\nkustomize %v\nhelm      %v", kKeys, hKeys)
	}

	same := func(key string, path ...string) {
		t.Helper()
		a, _, _ := unstructured.NestedFieldNoCopy(kustomize[key].Object, path...)
		b, _, _ := unstructured.NestedFieldNoCopy(helm[key].Object, path...)
		if a == nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s %s differs:\nkustomize %v\nhelm      %v", key, strings.Join(path, "."), a, b)
		}
	}
	for _, key := range kKeys {
		switch kind := strings.Split(key, "/")[0]; kind {
		case "CustomResourceDefinition", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
			"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding":
			same(key, "spec")
		case "ClusterRole", "Role":
			same(key, "rules")
			// Aggregation labels grant: the NamespaceClaim roles reach the
			// owners through admin, edit and view.
			for k, v := range kustomize[key].GetLabels() {
				if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") && helm[key].GetLabels()[k] != v {
					t.Errorf("%s: the chart drops label %s=%s", key, k, v)
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			same(key, "roleRef")
			same(key, "subjects")
		case "Service":
			same(key, "spec", "ports")
			same(key, "spec", "selector")
		case "ServiceAccount":
			if kustomize[key].GetNamespace() != helm[key].GetNamespace() {
				t.Errorf("%s namespace differs", key)
			}
		case "Deployment":
			same(key, "spec", "selector")
			same(key, "spec", "template", "spec", "securityContext")
			same(key, "spec", "template", "spec", "serviceAccountName")
			kc := container(t, kustomize[key])
			hc := container(t, helm[key])
			for _, field := range []string{"image", "command", "securityContext", "ports", "resources", "livenessProbe", "readinessProbe", "env"} {
				if !reflect.DeepEqual(kc[field], hc[field]) {
					t.Errorf("Deployment container %s differs:\nkustomize %v\nhelm      %v", field, kc[field], hc[field])
				}
			}
			// Every flag config/default sets, the chart sets to the same value.
			hArgs := hc["args"].([]any)
			for _, a := range kc["args"].([]any) {
				flag := a.(string)
				if flag == "--leader-elect" {
					flag = "--leader-elect=true"
				}
				if !slices.Contains(hArgs, any(flag)) {
					t.Errorf("the chart does not pass %s (it passes %v)", flag, hArgs)
				}
			}
		default:
			t.Errorf("%s: no comparison defined for kind %s", key, kind)
		}
	}
}

func container(t *testing.T, u *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%s: want one container, got %d", u.GetName(), len(cs))
	}
	return cs[0].(map[string]any)
}

func TestChartFollowsValues(t *testing.T) {
	root := repoRoot(t)
	out := parse(t, run(t, root, "go", "tool", "-modfile=hack/helm/go.mod", "helm", "template", "acme", "charts/tenantry",
		"--namespace", "platform", "--kube-version", "1.37.2", "--api-versions", mapAPIVersion,
		"--set", "namePrefix=acme-tenantry-", "--set", "allowedClusterRoles={admin,view,tenant-developer}",
		"--set", "podDisruptionBudget.enabled=true", "--set", "metrics.serviceMonitor.enabled=true"))
	const operator = "'system:serviceaccount:' + 'platform' + ':' + 'acme-tenantry-controller-manager'"
	for _, name := range []string{"workload-guardrails", "exposure-guardrails", "storage-guardrails", "network-policy-guardrails"} {
		vap := out["ValidatingAdmissionPolicy/acme-tenantry-"+name]
		if vap == nil {
			t.Fatalf("policy %s not renamed: %v", name, keys(out))
		}
		if got := named(t, vap, "matchConditions", "operator"); got != "request.userInfo.username != "+operator {
			t.Errorf("%s must skip this release's ServiceAccount, got %v", name, got)
		}
	}
	if b := out["MutatingAdmissionPolicyBinding/acme-tenantry-node-selector"]; b == nil || out["MutatingAdmissionPolicy/acme-tenantry-node-selector"] == nil ||
		b.Object["spec"].(map[string]any)["policyName"] != "acme-tenantry-node-selector" {
		t.Errorf("the node-selector policy and its binding must follow namePrefix: %v", keys(out))
	}
	for _, name := range []string{"protect-managed-objects", "tenant-namespace-rules", "protect-tenants", "operator-fence"} {
		vap := out["ValidatingAdmissionPolicy/acme-tenantry-"+name]
		if vap == nil {
			t.Fatalf("policy %s not renamed: %v", name, keys(out))
		}
		if b := out["ValidatingAdmissionPolicyBinding/acme-tenantry-"+name]; b == nil || b.Object["spec"].(map[string]any)["policyName"] != "acme-tenantry-"+name {
			t.Errorf("binding %s does not follow the policy's name", name)
		}
		want := map[string]string{"operator": operator}
		if name == "operator-fence" {
			want = map[string]string{"operatorNamespace": "'platform'", "allowedClusterRoles": `["admin","view","tenant-developer"]`}
			if got := named(t, vap, "matchConditions", "operator"); got != "request.userInfo.username == "+operator {
				t.Errorf("operator-fence must match this release's ServiceAccount, got %v", got)
			}
		}
		for v, expr := range want {
			if got := named(t, vap, "variables", v); got != expr {
				t.Errorf("%s: variable %s must be %s, got %v", name, v, expr, got)
			}
		}
	}
	rules, _, _ := unstructured.NestedSlice(out["ClusterRole/acme-tenantry-manager-role"].Object, "rules")
	found := false
	for _, r := range rules {
		rule := r.(map[string]any)
		if slices.Contains(rule["verbs"].([]any), any("bind")) {
			found = reflect.DeepEqual(rule["resourceNames"], []any{"admin", "view", "tenant-developer"})
		}
	}
	if !found {
		t.Errorf("bind must follow allowedClusterRoles: %v", rules)
	}
	for _, k := range []string{"PodDisruptionBudget/acme-tenantry-controller-manager", "ServiceMonitor/acme-tenantry-controller-manager"} {
		if out[k] == nil {
			t.Errorf("%s missing: %v", k, keys(out))
		}
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// named returns the expression of the element called name in spec.<list> of a policy.
func named(t *testing.T, vap *unstructured.Unstructured, list, name string) any {
	t.Helper()
	items, _, _ := unstructured.NestedSlice(vap.Object, "spec", list)
	for _, it := range items {
		if m := it.(map[string]any); m["name"] == name {
			return m["expression"]
		}
	}
	t.Fatalf("%s has no %s %s", vap.GetName(), list, name)
	return nil
}

// The operator fence of config/default allows binding exactly the ClusterRoles
// the operator is started with (--allowed-cluster-roles) and may bind (RBAC).
func TestFenceFollowsAllowedClusterRoles(t *testing.T) {
	kustomize, _ := rendered(t)
	var flag string
	for _, a := range container(t, kustomize["Deployment/tenantry-controller-manager"])["args"].([]any) {
		if v, ok := strings.CutPrefix(a.(string), "--allowed-cluster-roles="); ok {
			flag = v
		}
	}
	var bind []string
	rules, _, _ := unstructured.NestedSlice(kustomize["ClusterRole/tenantry-manager-role"].Object, "rules")
	for _, r := range rules {
		rule := r.(map[string]any)
		if slices.Contains(rule["verbs"].([]any), any("bind")) {
			for _, n := range rule["resourceNames"].([]any) {
				bind = append(bind, n.(string))
			}
		}
	}
	var fence []string
	expr := named(t, kustomize["ValidatingAdmissionPolicy/tenantry-operator-fence"], "variables", "allowedClusterRoles").(string)
	if err := json.Unmarshal([]byte(expr), &fence); err != nil {
		t.Fatalf("allowedClusterRoles %q: %v", expr, err)
	}
	if strings.Join(fence, ",") != flag || !reflect.DeepEqual(fence, bind) {
		t.Errorf("operator-fence allows %v, the Deployment passes --allowed-cluster-roles=%s, the ClusterRole binds %v: keep them equal", fence, flag, bind)
	}
}

// The chart's copies of the policies are config/policies' (`make manifests`).
func TestChartPoliciesAreCopies(t *testing.T) {
	root := repoRoot(t)
	srcs, _ := filepath.Glob(filepath.Join(root, "config", "policies", "*.yaml"))
	copies, _ := filepath.Glob(filepath.Join(root, "charts", "tenantry", "files", "policies", "*.yaml"))
	var want []string
	for _, src := range srcs {
		if filepath.Base(src) == "kustomization.yaml" {
			continue
		}
		want = append(want, filepath.Base(src))
		a, _ := os.ReadFile(src)
		b, err := os.ReadFile(filepath.Join(root, "charts", "tenantry", "files", "policies", filepath.Base(src)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("charts/tenantry/files/policies/%s is not a copy of config/policies: run make manifests", filepath.Base(src))
		}
	}
	if len(copies) != len(want) {
		t.Errorf("charts/tenantry/files/policies has %d files, config/policies %d policies: run make manifests", len(copies), len(want))
	}
}
