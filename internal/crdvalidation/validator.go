// Package crdvalidation validates custom resources in process the way the
// API server does for a CRD: pruning, defaulting, the OpenAPI schema,
// list-type uniqueness and the x-kubernetes-validations CEL rules, with the
// apiextensions-apiserver's own code. Tests use it where a real API server
// per input is too slow (fuzzing); its fidelity is itself tested against a
// real API server (internal/controller's validation table).
package crdvalidation

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Validator validates objects of one version of a CRD.
type Validator struct {
	structural *structuralschema.Structural
	schema     validation.SchemaValidator
	cel        *cel.Validator
}

// Load reads a CRD manifest and returns the validator of its served version.
func Load(path, version string) (*Validator, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == version && v.Schema != nil {
			return newValidator(v.Schema.OpenAPIV3Schema)
		}
	}
	return nil, fmt.Errorf("%s: no schema for version %s", path, version)
}

func newValidator(in *apiextensionsv1.JSONSchemaProps) (*Validator, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(in, internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	if errs := structuralschema.ValidateStructural(nil, structural); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	schemaValidator, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	return &Validator{
		structural: structural,
		schema:     schemaValidator,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}, nil
}

// Admit prunes and defaults obj in place, as the API server does on create,
// and returns what the API server would refuse it for.
func (v *Validator) Admit(obj *unstructured.Unstructured) field.ErrorList {
	pruning.Prune(obj.Object, v.structural, true)
	structuraldefaulting.Default(obj.Object, v.structural)

	errs := metavalidation.ValidateObjectMetaAccessor(obj, false, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validation.ValidateCustomResource(nil, obj.UnstructuredContent(), v.schema)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, v.structural, obj.Object)...)
	if len(errs) > 0 {
		return errs // CEL rules run only on schema-valid objects, as in the API server
	}
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj.Object, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}
