package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/gather"
)

// ClassReport is what applying one TenantClass of the input would do to it;
// its members' plans are among the Tenants'.
type ClassReport struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// Refused is the API server's refusal of the class (a dry run).
	Refused string `json:"refused,omitempty"`
}

// admittedClass is a TenantClass of the input as the planner sees it.
type admittedClass struct {
	class   *tenantryv1alpha1.TenantClass
	state   string
	refusal string
}

// inputClasses are the admitted classes of the input, by name.
type inputClasses map[string]*admittedClass

// classSource gives the input's classes, and the cluster's for the others.
type classSource struct {
	*gather.Direct
	classes inputClasses
}

func (s classSource) Class(ctx context.Context, name string) (*tenantryv1alpha1.TenantClass, error) {
	if ac, ok := s.classes[name]; ok {
		return ac.class, nil
	}
	return s.Direct.Class(ctx, name)
}

// admitClasses dry-runs each class of the input as admitted does a Tenant,
// and reports it: a changed class has one generation more than the
// cluster's, a new one generation 1, so that its members take the change
// as a spec change, as the operator does.
func admitClasses(ctx context.Context, c client.Client, classes map[string]*tenantryv1alpha1.TenantClass, rep *Report) (inputClasses, error) {
	out := inputClasses{}
	for _, name := range slices.Sorted(maps.Keys(classes)) {
		ac, err := admitClass(ctx, c, classes[name])
		if err != nil {
			return nil, fmt.Errorf("TenantClass %s: %w", name, err)
		}
		out[name] = ac
		rep.addClass(&ClassReport{Name: name, State: ac.state, Refused: ac.refusal})
	}
	return out, nil
}

func admitClass(ctx context.Context, c client.Client, file *tenantryv1alpha1.TenantClass) (*admittedClass, error) {
	for attempt := 0; ; attempt++ {
		live := &tenantryv1alpha1.TenantClass{}
		err := c.Get(ctx, client.ObjectKey{Name: file.Name}, live)
		if apierrors.IsNotFound(err) {
			cand := &tenantryv1alpha1.TenantClass{
				ObjectMeta: metav1.ObjectMeta{Name: file.Name, Labels: file.Labels, Annotations: file.Annotations},
				Spec:       *file.Spec.DeepCopy(),
			}
			ac := &admittedClass{state: StateNew, class: file}
			if err := c.Create(ctx, cand, client.DryRunAll); err != nil {
				ac.refusal = refused(err)
				return ac, ignoreRefusal(err)
			}
			ac.class = &tenantryv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: file.Name, Generation: 1}, Spec: cand.Spec}
			return ac, nil
		}
		if err != nil {
			return nil, fmt.Errorf("get TenantClass: %w", err)
		}
		cand := live.DeepCopy()
		cand.Spec = *file.Spec.DeepCopy()
		err = c.Update(ctx, cand, client.DryRunAll)
		if apierrors.IsConflict(err) && attempt < 3 {
			continue // the operator wrote the status meanwhile
		}
		if err != nil {
			return &admittedClass{state: StateChanged, class: live, refusal: refused(err)}, ignoreRefusal(err)
		}
		ac := &admittedClass{state: StateUnchanged, class: live.DeepCopy()}
		ac.class.Spec = cand.Spec
		if !equality.Semantic.DeepEqual(cand.Spec, live.Spec) {
			ac.class.Generation, ac.state = live.Generation+1, StateChanged
		}
		return ac, nil
	}
}

// planned is a Tenant to plan; member names the changed class of the input
// it was found a member of, for a Tenant of the cluster not in the input.
type planned struct {
	tenant *tenantryv1alpha1.Tenant
	member string
}

// withMembers adds, to the input's Tenants, the cluster's Tenants that are
// not in the input but name a class the input changes or creates: applying
// the class changes them too. They are planned with their spec as stored.
func withMembers(ctx context.Context, c client.Client, tenants []*tenantryv1alpha1.Tenant, classes inputClasses) ([]planned, error) {
	out := make([]planned, 0, len(tenants))
	inInput := map[string]bool{}
	for _, t := range tenants {
		out = append(out, planned{tenant: t})
		inInput[t.Name] = true
	}
	changed := false
	for _, ac := range classes {
		changed = changed || ac.state != StateUnchanged
	}
	if !changed {
		return out, nil
	}
	list := &tenantryv1alpha1.TenantList{}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list the members of the input's classes: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b tenantryv1alpha1.Tenant) int { return strings.Compare(a.Name, b.Name) })
	for i := range list.Items {
		t := &list.Items[i]
		ac, ok := classes[t.Spec.Class]
		if ok && ac.state != StateUnchanged && !inInput[t.Name] {
			out = append(out, planned{tenant: t, member: t.Spec.Class})
		}
	}
	return out, nil
}
