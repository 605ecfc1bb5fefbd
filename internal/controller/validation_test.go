package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/crdvalidation"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/test/badtenants"
	"github.com/tenantry/tenantry/test/tenantgen"
)

// TestValidationRefusesBadTenants: every invalid shape of the contract is
// refused by the API server at create, with a message naming the field, and
// nothing is stored; the valid Tenants at the same boundaries are accepted.
// The in-process validator the fuzz targets use gives the same verdicts.
func TestValidationRefusesBadTenants(t *testing.T) {
	if len(badtenants.Invalid) < 20 {
		t.Fatalf("the contract asks for at least 20 cases, have %d", len(badtenants.Invalid))
	}
	inProcess, err := crdvalidation.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range badtenants.Invalid {
		t.Run(tc.Name, func(t *testing.T) {
			obj, err := tc.Tenant()
			if err != nil {
				t.Fatal(err)
			}
			err = k8s.Create(ctx, obj.DeepCopy())
			if err == nil {
				_ = k8s.Delete(ctx, obj)
				t.Fatal("invalid Tenant was accepted")
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsRequestEntityTooLargeError(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tc.Want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), got); !apierrors.IsNotFound(err) {
				t.Fatalf("nothing may be stored for a refused Tenant, Get: %v", err)
			}
			if !apierrors.IsRequestEntityTooLargeError(err) && len(inProcess.Admit(obj)) == 0 {
				t.Error("the in-process validator admits what the API server refuses")
			}
		})
	}
	for _, tc := range badtenants.Valid {
		t.Run("valid: "+tc.Name, func(t *testing.T) {
			obj, err := tc.Tenant()
			if err != nil {
				t.Fatal(err)
			}
			if errs := inProcess.Admit(obj.DeepCopy()); len(errs) > 0 {
				t.Errorf("the in-process validator refuses a valid Tenant: %v", errs)
			}
			if err := k8s.Create(ctx, obj, client.DryRunAll); err != nil {
				t.Fatalf("a valid Tenant was refused: %v", err)
			}
		})
	}
}

// TestRenderedObjectsPassServerValidation: generated Tenants (the fuzz seed
// corpus and a fixed pseudo-random sample) get the same verdict from the API
// server as from the in-process validator the fuzz targets trust. Every
// object rendered for an admitted one passes the API server's own
// validation of its kind (server-side dry run) — except the content the
// spec passes through as is (quota limits and scopes, limit range items,
// extra network policies), which the reconciler's preflight dry-runs before
// applying anything (TestRefusedSpecAppliesNothing); those refusals are
// counted here so the sample is seen to exercise it.
func TestRenderedObjectsPassServerValidation(t *testing.T) {
	inProcess, err := crdvalidation.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Children are dry-run in one scratch namespace: dry runs store nothing,
	// and the namespace a child lands in does not change its validation.
	scratch := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "render-check"}}
	if err := k8s.Create(ctx, scratch); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	inputs := fuzzCorpus(t, filepath.Join(repoRoot, "internal", "render", "testdata", "fuzz", "FuzzRender"))
	r := rand.New(rand.NewPCG(7, 11))
	for range 150 {
		b := make([]byte, 20+r.IntN(180))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		inputs = append(inputs, b)
	}
	admitted, passthroughRefused := 0, 0
	for i, data := range inputs {
		u := tenantgen.Tenant(data)
		localErrs := inProcess.Admit(u.DeepCopy())
		serverErr := k8s.Create(ctx, u.DeepCopy(), client.DryRunAll)
		if (len(localErrs) == 0) != (serverErr == nil) {
			t.Fatalf("input %d: in-process verdict %v, API server %v\n%v", i, localErrs, serverErr, u.Object)
		}
		if serverErr != nil {
			continue
		}
		admitted++
		tn := &tenantryv1alpha1.Tenant{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, tn); err != nil {
			t.Fatal(err)
		}
		tn.UID = "0a1b2c3d-0000-4000-8000-000000000000"
		for _, o := range plan.Initial(effective.Of(tn, effective.Options{DefaultOwnerClusterRole: "admin"})) {
			err := dryRunApply(ctx, o, scratch.Name)
			switch {
			case err == nil:
			case plan.IsPassthrough(o) && apierrors.IsInvalid(err):
				passthroughRefused++
			default:
				t.Errorf("input %d: %s refused by the API server: %v", i, o.Key(), err)
			}
		}
	}
	if admitted < 40 {
		t.Fatalf("only %d of %d generated Tenants admitted: the sample proves little", admitted, len(inputs))
	}
	t.Logf("%d generated Tenants, %d admitted; %d passthrough objects refused (left to the preflight), every other rendered object accepted",
		len(inputs), admitted, passthroughRefused)
}

// dryRunApply server-side applies o (children moved into namespace) without
// storing it.
func dryRunApply(ctx context.Context, o render.Object, namespace string) error {
	u := &unstructured.Unstructured{}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Apply)
	if err != nil {
		return err
	}
	u.Object = content
	if o.Namespace != "" {
		u.SetNamespace(namespace)
	}
	return k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("render-check"), client.DryRunAll, client.ForceOwnership)
}

// fuzzCorpus reads the []byte inputs of a Go fuzz corpus directory.
func fuzzCorpus(t *testing.T, dir string) [][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(data), "\n", 3)
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a []byte fuzz input", e.Name())
		}
		var b string
		if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"), "%q", &b); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, []byte(b))
	}
	return out
}
