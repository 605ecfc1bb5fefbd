// Package celcompat compiles the CEL of the admission policies and CRDs this
// project ships the way an API server of a given version does when they are
// written, so that the chart's minimum Kubernetes version can be checked
// without one. An API server compiles new expressions with the CEL
// environment of its compatibility version, by default one minor below its
// own (k8s.io/component-base/compatibility), so that a rollback can still
// read them: a library introduced in 1.N is usable from 1.N+1 servers.
package celcompat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	crdcel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

// ServerCompatibility is the CEL compatibility version an API server of
// version server compiles new expressions with.
func ServerCompatibility(server *version.Version) *version.Version {
	return version.MajorMinor(server.Major(), server.Minor()).SubtractMinor(1)
}

// CheckFile compiles every CEL expression of the admission policies and CRDs
// in a multi-document manifest with the base environment of compat, and
// returns one error per expression that does not compile, and the number of
// expressions it compiled.
func CheckFile(path string, compat *version.Version) (int, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, []error{err}
	}
	envSet := environment.MustBaseEnvSet(compat)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var n int
	var errs []error
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return n, errs
		} else if err != nil {
			return n, append(errs, fmt.Errorf("%s: %w", path, err))
		}
		raw, err := yaml.Marshal(doc)
		if err != nil {
			return n, append(errs, err)
		}
		var e []error
		var c int
		switch doc["kind"] {
		case "ValidatingAdmissionPolicy":
			var p admissionv1.ValidatingAdmissionPolicy
			if err := yaml.UnmarshalStrict(raw, &p); err != nil {
				return n, append(errs, fmt.Errorf("%s: %w", path, err))
			}
			c, e = validatingPolicy(&p, envSet)
		case "MutatingAdmissionPolicy":
			var p admissionv1.MutatingAdmissionPolicy
			if err := yaml.UnmarshalStrict(raw, &p); err != nil {
				return n, append(errs, fmt.Errorf("%s: %w", path, err))
			}
			c, e = mutatingPolicy(&p, envSet)
		case "CustomResourceDefinition":
			c, e = crd(raw, envSet)
		}
		n += c
		for _, err := range e {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
}

// checker compiles the expressions of one policy as the API server's
// admissionregistration validation does: variables first, each typed for
// the expressions after it, with the NewExpressions environment.
type checker struct {
	compiler *plugincel.CompositedCompiler
	name     string
	n        int
	errs     []error
}

// newChecker compiles a policy's variables and matchConditions; what it
// returns compiles the policy's other expressions after them.
func newChecker(envSet *environment.EnvSet, name string, params bool, vars []admissionv1.Variable, conds []admissionv1.MatchCondition) (*checker, plugincel.OptionalVariableDeclarations, error) {
	opts := plugincel.OptionalVariableDeclarations{HasParams: params, HasAuthorizer: true}
	compiler, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		return nil, opts, err
	}
	c := &checker{compiler: compiler, name: name}
	c.variables(vars, opts)
	for i := range conds {
		c.expression("matchCondition "+conds[i].Name, (*matchconditions.MatchCondition)(&conds[i]), opts)
	}
	return c, opts, nil
}

func (c *checker) variables(vars []admissionv1.Variable, opts plugincel.OptionalVariableDeclarations) {
	for _, v := range vars {
		c.report("variable "+v.Name, c.compiler.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, opts, environment.NewExpressions))
	}
}

func (c *checker) expression(what string, a plugincel.ExpressionAccessor, opts plugincel.OptionalVariableDeclarations) {
	c.report(what, c.compiler.CompileCELExpression(a, opts, environment.NewExpressions))
}

func (c *checker) report(what string, r plugincel.CompilationResult) {
	c.n++
	if r.Error != nil {
		c.errs = append(c.errs, fmt.Errorf("%s %s: %s", c.name, what, firstLine(r.Error)))
	}
}

// firstLine keeps a compilation error to its first message: the rest
// repeats the expression with a caret under each undeclared name.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func validatingPolicy(p *admissionv1.ValidatingAdmissionPolicy, envSet *environment.EnvSet) (int, []error) {
	c, opts, err := newChecker(envSet, p.Name, p.Spec.ParamKind != nil, p.Spec.Variables, p.Spec.MatchConditions)
	if err != nil {
		return 0, []error{err}
	}
	for i, v := range p.Spec.Validations {
		c.expression(fmt.Sprintf("validation %d", i), &validating.ValidationCondition{Expression: v.Expression}, opts)
		if v.MessageExpression != "" {
			msgOpts := opts
			msgOpts.HasAuthorizer = false
			c.expression(fmt.Sprintf("validation %d messageExpression", i), &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, msgOpts)
		}
	}
	for _, a := range p.Spec.AuditAnnotations {
		c.expression("auditAnnotation "+a.Key, &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}, opts)
	}
	return c.n, c.errs
}

func mutatingPolicy(p *admissionv1.MutatingAdmissionPolicy, envSet *environment.EnvSet) (int, []error) {
	c, opts, err := newChecker(envSet, p.Name, p.Spec.ParamKind != nil, p.Spec.Variables, p.Spec.MatchConditions)
	if err != nil {
		return 0, []error{err}
	}
	patchOpts := opts
	patchOpts.HasPatchTypes = true
	for i, m := range p.Spec.Mutations {
		what := fmt.Sprintf("mutation %d", i)
		switch {
		case m.JSONPatch != nil:
			c.expression(what, &patch.JSONPatchCondition{Expression: m.JSONPatch.Expression}, patchOpts)
		case m.ApplyConfiguration != nil:
			c.expression(what, &patch.ApplyConfigurationCondition{Expression: m.ApplyConfiguration.Expression}, patchOpts)
		}
	}
	return c.n, c.errs
}

// crd compiles the x-kubernetes-validations of every served version, each
// rule with self typed by its schema node, as the CRD's validation does.
func crd(raw []byte, envSet *environment.EnvSet) (int, []error) {
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &v1); err != nil {
		return 0, []error{err}
	}
	var n int
	var errs []error
	for _, v := range v1.Spec.Versions {
		if v.Schema == nil {
			continue
		}
		internal := &apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return n, append(errs, err)
		}
		s, err := structuralschema.NewStructural(internal)
		if err != nil {
			return n, append(errs, err)
		}
		name := v1.Name + "/" + v.Name
		walk(s, model.SchemaDeclType(s, true), name, envSet, &n, &errs)
	}
	return n, errs
}

func walk(s *structuralschema.Structural, t *apiservercel.DeclType, path string, envSet *environment.EnvSet, n *int, errs *[]error) {
	if t == nil {
		return
	}
	results, err := crdcel.Compile(s, t, celconfig.PerCallLimit, envSet, crdcel.NewExpressionsEnvLoader())
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %w", path, err))
	}
	for i, r := range results {
		*n++
		if r.Error != nil {
			*errs = append(*errs, fmt.Errorf("%s rule %q: %s", path, s.XValidations[i].Rule, firstLine(r.Error)))
		}
		if r.MessageExpressionError != nil {
			*errs = append(*errs, fmt.Errorf("%s messageExpression %q: %s", path, s.XValidations[i].MessageExpression, firstLine(r.MessageExpressionError)))
		}
	}
	if s.Items != nil {
		walk(s.Items, t.ElemType, path+"[]", envSet, n, errs)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		walk(s.AdditionalProperties.Structural, t.ElemType, path+"{}", envSet, n, errs)
	}
	for k := range s.Properties {
		p := s.Properties[k]
		var ft *apiservercel.DeclType
		if escaped, ok := apiservercel.Escape(k); ok {
			if f, ok := t.Fields[escaped]; ok {
				ft = f.Type
			}
		} else {
			ft = model.SchemaDeclType(&p, p.XEmbeddedResource)
		}
		walk(&p, ft, path+"."+k, envSet, n, errs)
	}
}
