package cli

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
)

// Report is the plan of every Tenant of the input (`-o json` prints it).
type Report struct {
	Classes []*ClassReport  `json:"classes,omitempty"`
	Tenants []*TenantReport `json:"tenants"`
	Summary Summary         `json:"summary"`
}

// Summary counts the actions of every plan.
type Summary struct {
	Create  int `json:"create"`
	Change  int `json:"change"`
	Adopt   int `json:"adopt"`
	Prune   int `json:"prune"`
	Release int `json:"release"`
	Delete  int `json:"delete"`
	// Refused counts the Tenants and TenantClasses the API server refuses.
	Refused int `json:"refused"`
	// Changes: applying the input would change something (exit code 2).
	Changes bool `json:"changes"`
}

// TenantReport is the plan of one Tenant.
type TenantReport struct {
	Name string `json:"name"`
	// State is StateNew, StateChanged, StateUnchanged or StateDeleting.
	State string `json:"state"`
	// ClassChanged names the Tenant's class when the input changes it.
	ClassChanged string `json:"classChanged,omitempty"`
	// NotInInput names the class of the input that makes this Tenant of
	// the cluster, not in the input, change.
	NotInInput string `json:"notInInput,omitempty"`
	// Refused is the API server's refusal of the Tenant itself (a dry-run
	// create or update); then there is no plan.
	Refused string `json:"refused,omitempty"`
	// ClassRefused names the Tenant's class when the API server refuses
	// it as the input has it; then there is no plan either.
	ClassRefused string   `json:"classRefused,omitempty"`
	Actions      []Action `json:"actions,omitempty"`
	// Conflicts are namespaces and objects the Tenant may not take.
	Conflicts []string `json:"conflicts,omitempty"`
	// Stalled are the problems the operator would stall on.
	Stalled []Problem `json:"stalled,omitempty"`
	// Refusals are the API server's refusals of the spec's content (dry
	// runs): then nothing of the spec is applied.
	Refusals []string `json:"refusals,omitempty"`
	// Unchecked are dry runs that gave no verdict (no permission, a webhook).
	Unchecked []string `json:"unchecked,omitempty"`
	// Waiting is work that waits on something else (a terminating namespace).
	Waiting []string `json:"waiting,omitempty"`
	// Drift is drift left in place under driftPolicy Report.
	Drift []string `json:"drift,omitempty"`
}

// Problem is a Stalled reason and message.
type Problem struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Ops of an Action, in the order a plan is printed.
const (
	OpCreate   = "create"
	OpRecreate = "recreate"
	OpChange   = "change"
	OpCorrect  = "correct"
	OpAdopt    = "adopt"
	OpPrune    = "prune"
	OpRelease  = "release"
	OpDelete   = "delete" // a namespace, and everything in it
)

var opOrder = []string{OpCreate, OpRecreate, OpChange, OpCorrect, OpAdopt, OpPrune, OpRelease, OpDelete}

// Action is one write the operator would make.
type Action struct {
	Op        string `json:"op"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Why       string `json:"why"`
	// Changes are the fields an update sets or removes.
	Changes []Change `json:"changes,omitempty"`
	// Replace: a field that changes is immutable (a binding's roleRef): the
	// operator deletes the object and creates it anew.
	Replace bool `json:"replace,omitempty"`
	// Contents counts, for a namespace deletion, what is in the namespace
	// by resource; Uncounted are the resources that could not be listed.
	Contents  map[string]int `json:"contents,omitempty"`
	Uncounted []string       `json:"uncounted,omitempty"`
}

// Key is Kind/namespace/name.
func (a Action) Key() string { return kinds.Key(a.Kind, a.Namespace, a.Name) }

// Change is one field of an update: the live value and the desired one
// (absent: nil).
type Change struct {
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

func (r *Report) addClass(cr *ClassReport) {
	r.Classes = append(r.Classes, cr)
	switch {
	case cr.Refused != "":
		r.Summary.Refused++
	case cr.State == StateNew || cr.State == StateChanged:
		r.Summary.Changes = true
	}
}

func (r *Report) add(tr *TenantReport) {
	r.Tenants = append(r.Tenants, tr)
	s := &r.Summary
	switch {
	case tr.Refused != "":
		s.Refused++
		return
	case tr.ClassRefused != "":
		return // counted with its class
	}
	if tr.State == StateNew || tr.State == StateChanged || tr.ClassChanged != "" {
		s.Changes = true
	}
	for _, a := range tr.Actions {
		s.Changes = true
		switch a.Op {
		case OpCreate, OpRecreate:
			s.Create++
		case OpChange, OpCorrect:
			s.Change++
		case OpAdopt:
			s.Adopt++
		case OpPrune:
			s.Prune++
		case OpRelease:
			s.Release++
		case OpDelete:
			s.Delete++
		}
	}
}

// fill reports plan p, made from obs; namespace deletions are counted.
func (tr *TenantReport) fill(ctx context.Context, p *plan.Plan, obs *plan.Observed, counter *contentCounter) error {
	for _, a := range p.Actions {
		ar := actionOf(a, obs)
		if ar.Op == OpDelete && counter != nil {
			var err error
			if ar.Contents, ar.Uncounted, err = counter.count(ctx, ar.Name); err != nil {
				return err
			}
		}
		tr.Actions = append(tr.Actions, ar)
	}
	slices.SortStableFunc(tr.Actions, func(a, b Action) int {
		return cmp.Or(
			cmp.Compare(slices.Index(opOrder, a.Op), slices.Index(opOrder, b.Op)),
			cmp.Compare(kindIndex(a.Kind), kindIndex(b.Kind)),
			strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Name, b.Name))
	})
	for _, ns := range p.Namespaces {
		if ns.Phase == tenantryv1alpha1.NamespaceConflict {
			tr.Conflicts = append(tr.Conflicts, kinds.Key(kinds.Namespace, "", ns.Name)+": "+ns.Message)
		}
	}
	for _, c := range p.Conflicts {
		tr.Conflicts = append(tr.Conflicts, kinds.Key(c.Kind, c.Namespace, c.Name)+": "+c.Message)
	}
	slices.Sort(tr.Conflicts)
	for _, s := range p.Stalled {
		tr.Stalled = append(tr.Stalled, Problem{Reason: s.Reason, Message: s.Message})
	}
	tr.Refusals = slices.Sorted(slices.Values(obs.Preflight))
	tr.Waiting = slices.Sorted(slices.Values(p.Progressing))
	for _, rep := range p.Reports {
		tr.Drift = append(tr.Drift, rep.Finding.Key()+" "+driftText(rep.Finding))
	}
	slices.Sort(tr.Drift)
	return nil
}

// actionOf describes a plan action; an update of an existing object lists
// its field changes against the object as read.
func actionOf(a plan.Action, obs *plan.Observed) Action {
	out := Action{Why: a.Why}
	switch a.Op {
	case plan.OpDelete, plan.OpRelease:
		out.Kind, out.Namespace, out.Name = a.Target.Kind, a.Target.Namespace, a.Target.Name
	default:
		out.Kind, out.Namespace, out.Name = a.Object.Kind, a.Object.Namespace, a.Object.Name
	}
	switch {
	case a.Op == plan.OpApply && !a.Exists:
		out.Op = OpCreate
	case a.Op == plan.OpApply:
		out.Op = OpChange
	case a.Op == plan.OpCorrect && a.Finding != nil && a.Finding.Reason == drift.Missing:
		out.Op = OpRecreate
		out.Why = "drifted: deleted"
	case a.Op == plan.OpCorrect:
		out.Op = OpCorrect
		if a.Finding != nil {
			out.Why = "drifted: " + driftText(*a.Finding)
		}
	case a.Op == plan.OpAdopt:
		out.Op = OpAdopt
		out.Why = "exists, not yet Tenantry's: what it was is recorded, and put back on release"
	case a.Op == plan.OpRelease:
		out.Op = OpRelease
	case a.Target.Kind == kinds.Namespace:
		out.Op = OpDelete
	default:
		out.Op = OpPrune
	}
	if out.Op == OpChange || out.Op == OpCorrect {
		if live := liveObject(obs, a); live != nil {
			// An object Tenantry's fields cannot be read from lists none;
			// its Why says so.
			changes, _ := drift.Changes(a.Object, live)
			for _, c := range changes {
				out.Changes = append(out.Changes, Change{Path: c.Path.String(), Old: c.Old, New: c.New})
				out.Replace = out.Replace || immutable(a.Object.Kind, c.Path)
			}
		}
	}
	return out
}

// liveObject is the object an apply would update, as gathered.
func liveObject(obs *plan.Observed, a plan.Action) client.Object {
	key := a.Object.Key()
	if o := obs.Full[key]; o != nil {
		return o
	}
	if o := obs.Objects[key]; o != nil {
		return o
	}
	if a.Object.Kind == kinds.Namespace {
		if ns := obs.Namespaces[a.Object.Name].Object; ns != nil {
			return ns
		}
	}
	return nil
}

// driftText is a drift finding for people: how, which fields, by whom.
func driftText(f drift.Finding) string {
	s := string(f.Reason)
	if len(f.Fields) > 0 {
		s += " " + strings.Join(f.Fields, ", ")
	}
	if m := f.Manager(); m != "" {
		s += " by " + m
	}
	return s
}

// immutable: the API server refuses to change the field in place.
func immutable(kind string, path drift.Path) bool {
	return (kind == kinds.RoleBinding || kind == kinds.ClusterRoleBinding) && len(path) > 0 && path[0] == "roleRef"
}

func kindIndex(kind string) int {
	return slices.IndexFunc(kinds.All(), func(k kinds.Kind) bool { return k.Name == kind })
}
