package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tenantry/tenantry/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// run runs the command with stdin and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	r := cli.Runner{In: strings.NewReader(stdin), Out: &out, Err: &errOut}
	code = r.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// samples is where the sample Tenants and TenantClasses are.
const samples = "../../config/samples"

// classFlags gives render every sample class.
var classFlags = []string{"--class", samples + "/tenantry_v1alpha1_tenantclass_gold.yaml",
	"--class", samples + "/tenantry_v1alpha1_tenantclass_standard.yaml"}

// TestRenderSamples: `render` of each sample Tenant (with the sample
// classes) prints, as valid multi-document YAML, exactly its golden file
// (go test ./cmd/tenantry -update rewrites them; review the diff).
func TestRenderSamples(t *testing.T) {
	tenants, err := filepath.Glob(samples + "/tenantry_v1alpha1_tenant_*.yaml")
	if err != nil || len(tenants) < 4 {
		t.Fatalf("samples: %v %v", tenants, err)
	}
	for _, sample := range tenants {
		name := strings.TrimSuffix(filepath.Base(sample), ".yaml")
		t.Run(name, func(t *testing.T) {
			code, out, stderr := run(t, "", append([]string{"render", "-f", sample}, classFlags...)...)
			if code != cli.ExitNoChanges || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/tenantry -update)", err)
			}
			if out != string(want) {
				t.Fatalf("render differs from %s (go test ./cmd/tenantry -update, then review the diff):\n%s", golden, out)
			}
			docs := strings.Split(out, "---\n")[1:]
			if len(docs) < 8 {
				t.Fatalf("want every object of the sample, got %d documents", len(docs))
			}
			kinds := map[string]int{}
			for i, doc := range docs {
				var obj struct{ APIVersion, Kind string }
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind == "" || obj.APIVersion == "" {
					t.Fatalf("document %d is not an object (%v):\n%s", i+1, err, doc)
				}
				kinds[obj.Kind]++
			}
			// Every sample has two namespaces, an owner binding in each, and
			// the per-tenant cluster RBAC.
			if kinds["Namespace"] != 2 || kinds["RoleBinding"] < 2 || kinds["ClusterRole"] != 1 || kinds["ClusterRoleBinding"] != 1 {
				t.Fatalf("kinds rendered: %v", kinds)
			}
		})
	}
}

// TestRenderDirectoryAndStdin: a directory is read file by file (its
// classes used, the kustomization skipped with a note), stdin with -f -,
// and both give the objects of the Tenants one by one, in file name order.
func TestRenderDirectoryAndStdin(t *testing.T) {
	code, all, stderr := run(t, "", "render", "-f", samples)
	if code != cli.ExitNoChanges {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "kustomization.yaml: document 1: skipped") {
		t.Fatalf("the kustomization must be skipped with a note, stderr: %q", stderr)
	}
	tenants, _ := filepath.Glob(samples + "/tenantry_v1alpha1_tenant_*.yaml")
	var concatenated, each string
	for _, sample := range tenants {
		data, err := os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(filepath.Base(sample), ".yaml")+".golden.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		each += string(data)
		content, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		concatenated += "---\n" + string(content)
	}
	if all != each {
		t.Fatal("render of the directory is not the render of its Tenants in name order")
	}
	code, fromStdin, stderr := run(t, concatenated, append([]string{"render", "-f", "-"}, classFlags...)...)
	if code != cli.ExitNoChanges || stderr != "" || fromStdin != each {
		t.Fatalf("render -f - (exit %d, stderr %q) differs from the files' render", code, stderr)
	}
}

// TestExitCodesAndErrors: usage and input errors exit 1 with a message and
// print nothing on stdout; help exits 0.
func TestExitCodesAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tenant := "apiVersion: tenantry.io/v1alpha1\nkind: Tenant\nmetadata: {name: a}\nspec: {owners: [{kind: Group, name: g}], namespaces: [{name: a-1}]}\n"
	classy := strings.Replace(tenant, "[{name: a-1}]", "[{name: a-1}, {name: a-2}], class: small", 1)
	small := "apiVersion: tenantry.io/v1alpha1\nkind: TenantClass\nmetadata: {name: small}\nspec: {constraints: {maxNamespaces: 1}}\n"
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string
	}{
		{"no command", nil, "", cli.ExitError, "Usage:"},
		{"unknown command", []string{"apply"}, "", cli.ExitError, `unknown command "apply"`},
		{"no file", []string{"render"}, "", cli.ExitError, "no input"},
		{"missing file", []string{"render", "-f", filepath.Join(dir, "nope.yaml")}, "", cli.ExitError, "no such file"},
		{"bad YAML", []string{"render", "-f", write("bad.yaml", tenant+"---\nkind: [unclosed\n")}, "", cli.ExitError, "document 2"},
		{"unknown field", []string{"render", "-f", "-"}, strings.Replace(tenant, "owners:", "ownerz:", 1), cli.ExitError, `unknown field "ownerz"`},
		{"unserved version", []string{"render", "-f", "-"}, strings.Replace(tenant, "v1alpha1", "v9", 1), cli.ExitError, "apiVersion tenantry.io/v9 is not served"},
		{"duplicate Tenant", []string{"render", "-f", "-", "-f", write("dup.yaml", tenant)}, tenant, cli.ExitError, "Tenant a is also in stdin"},
		{"Tenant in --class", []string{"render", "-f", "-", "--class", write("t.yaml", tenant)}, "", cli.ExitError, "--class reads TenantClasses only"},
		{"class not in the input", []string{"render", "-f", "-"}, classy, cli.ExitError, "TenantClass small is not in the input"},
		{"class constraint", []string{"render", "-f", "-", "--class", write("small.yaml", small)}, classy, cli.ExitError,
			"2 namespaces, at most 1 allowed by constraints.maxNamespaces (TenantClass small)"},
		{"stray argument", []string{"render", "-f", "-", "extra"}, tenant, cli.ExitError, "unexpected arguments"},
		{"bad output", []string{"plan", "-f", "-", "-o", "yaml"}, tenant, cli.ExitError, "want text or json"},
		{"bad selector", []string{"plan", "-f", "-", "--protected-namespace-selector", "a in (b"}, tenant, cli.ExitError, "--protected-namespace-selector"},
		{"unreachable cluster", []string{"plan", "-f", "-", "--kubeconfig", write("kc", unreachable)}, tenant, cli.ExitError, "plan Tenant a:"},
		{"unknown context", []string{"plan", "-f", "-", "--kubeconfig", write("kc2", unreachable), "--context", "nope"}, tenant, cli.ExitError, `context "nope"`},
		{"help", []string{"help"}, "", cli.ExitNoChanges, ""},
		{"command help", []string{"plan", "-h"}, "", cli.ExitNoChanges, "-allowed-cluster-roles"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to contain %q)", code, tc.code, stderr, tc.stderr)
			}
			if code == cli.ExitError && out != "" {
				t.Fatalf("an error prints nothing on stdout, got %q", out)
			}
		})
	}
}

// TestSkippedDocuments: documents that are not Tenants (other kinds,
// comment-only and empty documents) are skipped, with a note for objects.
func TestSkippedDocuments(t *testing.T) {
	in := "# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\n---\n" +
		"apiVersion: tenantry.io/v1alpha1\nkind: Tenant\nmetadata: {name: a}\nspec: {owners: [{kind: Group, name: g}], namespaces: [{name: a-1}]}\n"
	code, out, stderr := run(t, in, "render", "-f", "-")
	if code != cli.ExitNoChanges {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "tenantry: stdin: document 2: skipped ConfigMap cm: not a Tenant or TenantClass\n" {
		t.Fatalf("stderr = %q", stderr)
	}
	if !strings.Contains(out, "name: a-1") || strings.Contains(out, "ConfigMap") {
		t.Fatalf("render = %s", out)
	}
}

// unreachable is a kubeconfig whose server refuses connections at once.
const unreachable = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
users:
- name: u
  user: {token: t}
`
