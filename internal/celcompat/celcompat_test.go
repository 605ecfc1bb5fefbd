package celcompat

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/version"
)

const root = "../.."

// chartMinimum is the lowest Kubernetes version charts/tenantry/Chart.yaml
// admits (kubeVersion ">=X.Y.Z-0").
func chartMinimum(t *testing.T) *version.Version {
	data, err := os.ReadFile(filepath.Join(root, "charts", "tenantry", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^kubeVersion:\s*"?>=\s*([0-9.]+)(-0)?"?\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("Chart.yaml has no kubeVersion of the form \">=X.Y.Z-0\"")
	}
	return version.MustParseGeneric(string(m[1]))
}

// Every shipped policy and CRD must be accepted by the oldest API server the
// chart claims to support; otherwise the install fails there.
func TestShippedCELCompilesOnTheChartsMinimumVersion(t *testing.T) {
	minimum := chartMinimum(t)
	compat := ServerCompatibility(minimum)
	files, _ := filepath.Glob(filepath.Join(root, "config", "policies", "*.yaml"))
	crds, _ := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	files = append(files, crds...)
	var total int
	for _, f := range files {
		n, errs := CheckFile(f, compat)
		total += n
		for _, err := range errs {
			t.Errorf("Kubernetes %s (CEL compatibility %s): %v", minimum, compat, err)
		}
	}
	// A floor, so that a broken walk cannot pass by compiling nothing.
	if total < 250 {
		t.Errorf("compiled only %d expressions in %d files", total, len(files))
	}
	t.Logf("compiled %d expressions in %d files for Kubernetes %s", total, len(files), minimum)
}

// The check is not vacuous: it refuses what an older server refuses.
func TestCheckRefusesLibrariesNewerThanTheServer(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  variables:
  - {name: sorted, expression: "[2, 1].sort()"}
  validations:
  - expression: "size(variables.sorted) == 2 && format.dns1123Label().validate(object.metadata.name).hasValue()"
    messageExpression: "'bad: ' + string(variables.sorted[0])"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		server string
		want   []string
	}{
		{"1.31", []string{"sort", "format"}},
		{"1.32", []string{"sort"}},
		{"1.35", nil},
	} {
		n, errs := CheckFile(policy, ServerCompatibility(version.MustParseGeneric(c.server)))
		if n != 3 {
			t.Errorf("%s: compiled %d expressions, want 3", c.server, n)
		}
		got := make([]string, 0, len(errs))
		for _, err := range errs {
			got = append(got, err.Error())
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: errors %q, want ones naming %q", c.server, got, c.want)
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], "'"+w+"'") {
				t.Errorf("%s: error %q does not name %q", c.server, got[i], w)
			}
		}
	}
}
