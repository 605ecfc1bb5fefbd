package plan

import (
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
	"github.com/tenantry/tenantry/internal/status"
)

// verdict is what the plan does with one desired object.
type verdict struct {
	// action is the write it needs, not yet in the plan; nil for none.
	action *Action
	// live is the object as observed (nil when absent or not yet confirmed).
	live client.Object
	// exists: the object exists now.
	exists bool
	// pending: it must be read whole before anything is decided (Confirm).
	pending bool
}

// ensureEach plans every object of a namespace (or the cluster RBAC).
func (b *builder) ensureEach(objs []render.Object, inputs string) {
	for _, d := range objs {
		live := b.obs.Objects[d.Key()]
		if v := b.ensure(d, live, live != nil, inputs); v.action != nil {
			b.p.Actions = append(b.p.Actions, *v.action)
		}
	}
}

// ensure decides one desired object, as observed: live from the cache
// (selected: it carries this tenant's label) or from a direct read.
//
// A cached slim copy is in sync when its version was verified for these
// inputs, or when its fingerprint is the desired one. Any other object that
// should already exist is suspected drift and is read whole first (Confirm):
// that both confirms it (the cache can be a step behind our own last write)
// and shows who changed what.
func (b *builder) ensure(d render.Object, live client.Object, selected bool, inputs string) verdict {
	b.desired[d.Key()] = true
	expected := b.expectExisting(d)
	if fp, slim := cache.Fingerprint(live); slim {
		if b.obs.Verified != nil && b.obs.Verified(d.Key(), live.GetResourceVersion(), inputs) {
			b.p.InPlace++
			return verdict{live: live, exists: true}
		}
		if want, err := drift.DesiredFingerprint(d); err == nil && fp == want {
			b.mark(d, live, inputs)
			b.p.InPlace++
			return verdict{live: live, exists: true}
		}
		if !expected {
			// A new spec or an adoption: apply what is wanted now.
			return act(Action{Op: OpApply, Why: "spec changed", Object: d, Inputs: inputs, Exists: true}, live)
		}
		live = nil // suspected drift: read it whole
	}
	if live == nil && expected {
		full, read := b.obs.Full[d.Key()]
		if !read {
			b.confirm(d.Kind, d.Namespace, d.Name)
			return verdict{pending: true}
		}
		live, selected = full, isTenants(full, b.e.Name)
	}
	f, found, err := drift.Evaluate(drift.Observation{Desired: d, Live: live, Selected: selected})
	switch {
	case err != nil:
		// Tenantry's fields cannot be read (an object of another shape):
		// applying puts them back in order.
		return act(Action{Op: OpApply, Why: "unreadable: " + err.Error(), Object: d, Inputs: inputs, Exists: live != nil}, live)
	case !found:
		if selected {
			b.mark(d, live, inputs)
		}
		b.p.InPlace++
		return verdict{live: live, exists: true}
	case !expected:
		// A new object, a spec change or an adoption: not drift.
		a := Action{Op: OpApply, Why: "new", Object: d, Inputs: inputs, Exists: live != nil}
		if live != nil {
			a.Why, a.Finding = "spec changed", &f
		}
		return act(a, live)
	case guardrailsRendered(f):
		// What Tenantry renders there changed, not the namespace: applied
		// whatever the drift policy, so that guardrails fail closed.
		why := "guardrail annotations updated"
		if slices.Equal(f.Fields, []string{hostnamesField}) {
			why = "hostnames granted changed"
		}
		return act(Action{Op: OpApply, Why: why, Object: d, Finding: &f, Inputs: inputs, Exists: true}, live)
	case b.e.Spec.DriftPolicy == tenantryv1alpha1.DriftPolicyReport:
		b.p.Reports = append(b.p.Reports, Report{Finding: f, Record: !status.AlreadyReported(b.obs.Status, f.Key())})
		if live != nil {
			b.p.InPlace++
		}
		return verdict{live: live, exists: live != nil}
	default:
		return act(Action{Op: OpCorrect, Why: "drifted", Object: d, Finding: &f, Inputs: inputs, Exists: live != nil}, live)
	}
}

// act returns a verdict that needs a write; once it succeeds the object
// exists. The caller adds the action to the plan.
func act(a Action, live client.Object) verdict {
	return verdict{action: &a, live: live, exists: true}
}

func (b *builder) mark(d render.Object, live client.Object, inputs string) {
	if rv := live.GetResourceVersion(); rv != "" {
		b.p.Marks = append(b.p.Marks, Mark{Key: d.Key(), ResourceVersion: rv, Inputs: inputs})
	}
}

func isTenants(obj client.Object, tenant string) bool {
	return obj != nil && obj.GetLabels()[tenantryv1alpha1.TenantLabel] == tenant
}

// hostnamesField is the namespace annotation of the granted hostnames.
var hostnamesField = annotationField(tenantryv1alpha1.HostnamesAnnotation)

// guardrailFields are the namespace annotations that carry guardrails.
var guardrailFields = func() map[string]bool {
	out := map[string]bool{}
	for _, key := range render.GuardrailAnnotationKeys {
		out[annotationField(key)] = true
	}
	return out
}()

func annotationField(key string) string { return drift.Path{"metadata", "annotations", key}.String() }

// guardrailsRendered: a namespace differs only in guardrail annotations no
// one but Tenantry ever wrote: which hostnames the Tenant holds changed (an
// input of the namespace), or a Tenantry that renders more guardrails than
// the one before it took over. Someone else's change to them is drift.
func guardrailsRendered(f drift.Finding) bool {
	if f.Kind != kinds.Namespace || f.Reason != drift.Modified || len(f.Fields) == 0 || len(f.Managers) > 0 {
		return false
	}
	for _, field := range f.Fields {
		if !guardrailFields[field] {
			return false
		}
	}
	return true
}
