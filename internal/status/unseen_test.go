package status

import (
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// TestKstatusWaitsForUnseenObjects: kstatus takes an object without status
// for Current, so Flux's wait would pass before the operator has seen a new
// Tenant, claim or class (test/gitops saw it happen). Each CRD therefore
// defaults status to observedGeneration 0, which kstatus reads as in
// progress until the operator writes the status.
func TestKstatusWaitsForUnseenObjects(t *testing.T) {
	for _, c := range []struct{ crd, kind string }{
		{"tenantry.io_tenants.yaml", "Tenant"},
		{"tenantry.io_namespaceclaims.yaml", "NamespaceClaim"},
		{"tenantry.io_tenantclasses.yaml", "TenantClass"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", c.crd))
			if err != nil {
				t.Fatal(err)
			}
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(data, &crd); err != nil {
				t.Fatal(err)
			}
			def := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Default
			if def == nil {
				t.Fatalf("%s: status has no default", c.crd)
			}
			var status map[string]any // numbers as int64, as the API machinery decodes them
			if err := utiljson.Unmarshal(def.Raw, &status); err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "tenantry.io/v1alpha1", "kind": c.kind,
				"metadata": map[string]any{"name": "new", "generation": int64(1)},
			}}
			if res, _ := kstatus.Compute(obj); res.Status != kstatus.CurrentStatus {
				t.Fatalf("without status: kstatus = %s; the reason for the default is gone", res.Status)
			}
			obj.Object["status"] = status
			res, err := kstatus.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != kstatus.InProgressStatus {
				t.Fatalf("with the default status %v: kstatus = %s (%s), want InProgress", status, res.Status, res.Message)
			}
		})
	}
}
