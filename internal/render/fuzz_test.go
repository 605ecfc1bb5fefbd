package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/crdvalidation"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/test/tenantgen"
)

// FuzzRender: every Tenant the CRD's validation admits renders, without
// panicking, the same objects every time, and objects the API server's
// generic checks accept (names, labels, annotations, subjects). The envtest
// suite sends the seed corpus's objects to a real API server as well.
func FuzzRender(f *testing.F) {
	for _, seed := range [][]byte{nil, {1, 2, 3}, bytes.Repeat([]byte{7}, 64), []byte("tenantry-render-seed")} {
		f.Add(seed)
	}
	v, err := crdvalidation.Tenants()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u := tenantgen.Tenant(data)
		if errs := v.Admit(u); len(errs) > 0 {
			return // the API server refuses it: nothing to render
		}
		tn := &tenantryv1alpha1.Tenant{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, tn); err != nil {
			t.Fatalf("the CRD admits a Tenant the Go type cannot hold: %v\n%v", err, u.Object)
		}
		tn.UID = "uid-fuzz"
		first := all(eff(tn))
		again := all(eff(tn.DeepCopy()))
		if a, b := renderedJSON(t, first), renderedJSON(t, again); a != b {
			t.Fatalf("rendering is not deterministic:\n%s\n%s", a, b)
		}
		if errs := CheckRendered(eff(tn), first); len(errs) > 0 {
			spec, _ := json.Marshal(u.Object)
			t.Fatalf("invalid objects rendered for an admitted Tenant %s:\n%s", spec, strings.Join(errs, "\n"))
		}
	})
}

func renderedJSON(t *testing.T, objs []Object) string {
	var b strings.Builder
	for _, o := range objs {
		data, err := json.Marshal(o.Apply)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(o.Key())
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// CheckRendered returns what is wrong with the objects rendered for t: every
// expected object exactly once, in the Tenant's namespaces, marked as the
// tenant's, with names, labels, annotations and subjects the API server's
// generic validation accepts.
func CheckRendered(t *effective.Tenant, objs []Object) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	nsNames := map[string]bool{}
	for _, ns := range t.Spec.Namespaces {
		nsNames[ns.Name] = true
	}
	perNamespace := 1 + len(t.Spec.RoleBindings) + len(t.Spec.ResourceQuotas)
	if t.Spec.LimitRange != nil {
		perNamespace++
	}
	if Isolation(t) != tenantryv1alpha1.NetworkIsolationNone || Egress(t) != tenantryv1alpha1.NetworkEgressNone {
		perNamespace++
	}
	if np := t.Spec.NetworkPolicy; np != nil {
		perNamespace += len(np.Policies)
	}
	if want := len(nsNames)*(1+perNamespace) + 2; len(objs) != want {
		add("%d objects rendered, want %d", len(objs), want)
	}

	seen := map[string]bool{}
	for _, o := range objs {
		if seen[o.Key()] {
			add("%s rendered twice", o.Key())
		}
		seen[o.Key()] = true
		var m struct {
			Metadata struct {
				Name, Namespace string
				Labels          map[string]string
				Annotations     map[string]string
			}
			Subjects []rbacv1.Subject
		}
		data, err := json.Marshal(o.Apply)
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil {
			add("%s: %v", o.Key(), err)
			continue
		}
		if m.Metadata.Name != o.Name || m.Metadata.Namespace != o.Namespace {
			add("%s: metadata says %s/%s", o.Key(), m.Metadata.Namespace, m.Metadata.Name)
		}
		switch o.Kind {
		case kinds.Namespace:
			for _, msg := range validation.IsDNS1123Label(o.Name) {
				add("%s: name: %s", o.Key(), msg)
			}
			if !nsNames[o.Name] {
				add("%s: not a namespace of the Tenant", o.Key())
			}
		case kinds.ClusterRole, kinds.ClusterRoleBinding:
			if o.Name == "" || o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, "/%") {
				add("%s: name is not a valid path segment", o.Key()) // the RBAC API's name rule
			}
		default:
			for _, msg := range apivalidation.NameIsDNSSubdomain(o.Name, false) {
				add("%s: name: %s", o.Key(), msg)
			}
			if !nsNames[o.Namespace] {
				add("%s: in a namespace the Tenant does not list", o.Key())
			}
		}
		if m.Metadata.Labels[tenantryv1alpha1.TenantLabel] != t.Name {
			add("%s: tenant label %q, want %q", o.Key(), m.Metadata.Labels[tenantryv1alpha1.TenantLabel], t.Name)
		}
		meta := field.NewPath("metadata")
		for _, e := range metav1validation.ValidateLabels(m.Metadata.Labels, meta.Child("labels")) {
			add("%s: %v", o.Key(), e)
		}
		for _, e := range apivalidation.ValidateAnnotations(m.Metadata.Annotations, meta.Child("annotations")) {
			add("%s: %v", o.Key(), e)
		}
		for i, s := range m.Subjects {
			for _, msg := range subjectProblems(s) {
				add("%s: subjects[%d]: %s", o.Key(), i, msg)
			}
		}
	}
	return problems
}

// subjectProblems are the RBAC API's checks of a binding's subject.
func subjectProblems(s rbacv1.Subject) []string {
	var out []string
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		out = append(out, apivalidation.NameIsDNSSubdomain(s.Name, false)...)
		if s.APIGroup != "" {
			out = append(out, "apiGroup must be empty for a ServiceAccount")
		}
		if s.Namespace == "" {
			out = append(out, "namespace is required for a ServiceAccount")
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			out = append(out, "apiGroup must be "+rbacv1.GroupName)
		}
		if s.Name == "" {
			out = append(out, "name is required")
		}
	default:
		out = append(out, "unsupported kind "+s.Kind)
	}
	return out
}
