package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// render prints, for each Tenant in the input, the objects the operator
// makes for it when nothing of it exists yet, in the order it applies them
// (plan.Initial), as one YAML document each. It is offline: a Tenant's
// class must be in the input, and the Tenant has no UID (the API server
// assigns it), so the tenant-uid annotation and owner references' uid are
// empty. Nothing is validated but the class's constraints: plan asks the
// API server.
func (r Runner) render(args []string) error {
	o, err := r.flags("render", args, false)
	if err != nil {
		return err
	}
	in, err := readInput(o.files, o.classes, r.In, r.Err)
	if err != nil {
		return err
	}
	for _, t := range in.tenants {
		var class *tenantryv1alpha1.TenantClass
		if t.Spec.Class != "" {
			if class = in.classes[t.Spec.Class]; class == nil {
				return fmt.Errorf("render Tenant %s: TenantClass %s is not in the input (render is offline: give it with -f or --class)", t.Name, t.Spec.Class)
			}
		}
		// Generation 1, as the API server gives a new Tenant: at 0 the
		// planner takes the empty status for one that observed this spec.
		t = t.DeepCopy()
		t.Generation = 1
		e := effective.WithClass(t, class, o.effective())
		if v := plan.ClassViolations(e, 0); len(v) > 0 { // offline: no claims are known
			return fmt.Errorf("render Tenant %s: %s; the operator would apply nothing of it", t.Name, strings.Join(v, "; "))
		}
		for _, d := range plan.Initial(e) {
			if err := writeYAML(r.Out, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeYAML(w io.Writer, d render.Object) error {
	data, err := json.Marshal(d.Apply)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Key(), err)
	}
	out, err := yaml.JSONToYAML(data)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Key(), err)
	}
	_, err = fmt.Fprintf(w, "---\n%s", out)
	return err
}
