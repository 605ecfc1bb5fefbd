package status

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

func member(gen, observed, classGen int64, ready bool) *tenantryv1alpha1.Tenant {
	t := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Generation: gen}}
	t.Status.ObservedGeneration, t.Status.ClassGeneration = observed, classGen
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	t.Status.Conditions = []metav1.Condition{{Type: tenantryv1alpha1.ConditionReady, Status: status, ObservedGeneration: observed}}
	return t
}

func stalled(t *tenantryv1alpha1.Tenant) *tenantryv1alpha1.Tenant {
	t.Status.Conditions = append(t.Status.Conditions, metav1.Condition{Type: tenantryv1alpha1.ConditionStalled,
		Status: metav1.ConditionTrue, ObservedGeneration: t.Status.ObservedGeneration})
	return t
}

func TestClassStatus(t *testing.T) {
	count := func(ts ...*tenantryv1alpha1.Tenant) ClassMembers {
		var m ClassMembers
		for _, tn := range ts {
			m.CountMember(tn, 5)
		}
		return m
	}
	tests := []struct {
		name                  string
		m                     ClassMembers
		deleting              bool
		ready, reconciling    metav1.ConditionStatus // "" for absent
		readyReason, readyMsg string
	}{
		{"no member", count(), false, metav1.ConditionTrue, "", ReasonRolledOut, "0 Tenants applied generation 5 and Ready"},
		{"rolled out", count(member(2, 2, 5, true), member(1, 1, 5, true)), false, metav1.ConditionTrue, "", ReasonRolledOut, "2 Tenants applied generation 5 and Ready"},
		{"rolling out: an older class generation, or a newer Tenant spec not yet seen",
			count(member(2, 2, 4, true), member(3, 2, 5, true), member(1, 1, 5, true)), false,
			metav1.ConditionFalse, metav1.ConditionTrue, ReasonRollingOut, "1 of 3 Tenants applied generation 5"},
		{"updated, not all Ready", count(member(1, 1, 5, false), member(1, 1, 5, true)), false,
			metav1.ConditionTrue, "", ReasonRolledOut, "2 Tenants applied generation 5; 1 Ready"},
		// It cannot apply generation 5 until its own spec is fixed (here: the
		// new generation's constraints refuse it); the rollout does not wait.
		{"a Stalled member counts as updated, not as having applied it", count(stalled(member(1, 1, 4, false)), member(1, 1, 5, true)), false,
			metav1.ConditionTrue, "", ReasonRolledOut, "1 of 2 Tenants applied generation 5; 1 is Stalled by its own spec and not waited for; 1 Ready"},
		{"Stalled members while rolling out", count(stalled(member(1, 1, 4, false)), stalled(member(2, 2, 3, false)), member(1, 1, 4, true), member(1, 1, 5, true)), false,
			metav1.ConditionFalse, metav1.ConditionTrue, ReasonRollingOut, "1 of 4 Tenants applied generation 5; 2 are Stalled by their own spec and not waited for"},
		{"a member Stalled after applying it has applied it", count(stalled(member(1, 1, 5, false)), member(1, 1, 5, true)), false,
			metav1.ConditionTrue, "", ReasonRolledOut, "2 Tenants applied generation 5; 1 Ready"},
		{"a Stalled member whose new spec is not yet seen is waited for", count(stalled(member(2, 1, 4, false)), member(1, 1, 5, true)), false,
			metav1.ConditionFalse, metav1.ConditionTrue, ReasonRollingOut, "1 of 2 Tenants applied generation 5"},
		{"deleting while in use", count(member(1, 1, 5, true)), true,
			metav1.ConditionFalse, metav1.ConditionTrue, tenantryv1alpha1.ReasonDeleting, "The class is being deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Class(tenantryv1alpha1.TenantClassStatus{}, 5, tt.m, tt.deleting, t0)
			if st.ObservedGeneration != 5 || st.Tenants != tt.m.Tenants || st.UpdatedTenants != tt.m.Updated || st.ReadyTenants != tt.m.Ready {
				t.Fatalf("counts %+v for %+v", st, tt.m)
			}
			r := meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionReady)
			if r == nil || r.Status != tt.ready || r.Reason != tt.readyReason || r.Message != tt.readyMsg {
				t.Fatalf("Ready = %+v", r)
			}
			rec := meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionReconciling)
			if (rec == nil) != (tt.reconciling == "") || rec != nil && rec.Status != tt.reconciling {
				t.Fatalf("Reconciling = %+v, want %q", rec, tt.reconciling)
			}
			if again := Class(st, 5, tt.m, tt.deleting, t1); len(again.Conditions) != len(st.Conditions) || !again.Conditions[0].LastTransitionTime.Equal(&st.Conditions[0].LastTransitionTime) {
				t.Fatal("the same counts must leave the status as it is")
			}
		})
	}
}

// TestClassHealth: Flux (kstatus) and Argo CD (config/argocd/health.lua,
// registered for TenantClass too) read a class's rollout alike: in progress
// until every member applied its generation, then healthy, whatever the
// members' own health.
func TestClassHealth(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		status     *tenantryv1alpha1.TenantClassStatus // nil: none at all
		generation int64
		deleting   bool
		kstatus    kstatus.Status
		argo       string
		argoMsg    string
	}{{
		// kstatus takes an object without status for Current (its generic
		// rule); the CRD defaults observedGeneration 0, the next case.
		name: "no status", generation: 1, kstatus: kstatus.CurrentStatus,
		argo: "Progressing", argoMsg: "Waiting for the Tenantry operator to reconcile the TenantClass",
	}, {
		name: "not yet seen by the operator", status: &tenantryv1alpha1.TenantClassStatus{}, generation: 1, kstatus: kstatus.InProgressStatus,
		argo: "Progressing", argoMsg: "Waiting for the Tenantry operator to observe generation 1",
	}, {
		name: "a new generation not yet counted", status: counted(4, ClassMembers{Tenants: 3, Updated: 3, Ready: 3}, false),
		generation: 5, kstatus: kstatus.InProgressStatus,
		argo: "Progressing", argoMsg: "Waiting for the Tenantry operator to observe generation 5",
	}, {
		name: "rolling out", status: counted(5, ClassMembers{Tenants: 3, Updated: 1, Ready: 3}, false),
		generation: 5, kstatus: kstatus.InProgressStatus,
		argo: "Progressing", argoMsg: "RollingOut: 1 of 3 Tenants applied generation 5",
	}, {
		name: "rolled out", status: counted(5, ClassMembers{Tenants: 3, Updated: 3, Ready: 3}, false),
		generation: 5, kstatus: kstatus.CurrentStatus,
		argo: "Healthy", argoMsg: "3 Tenants applied generation 5 and Ready",
	}, {
		// A member that is not Ready does not hold the class: Flux waits for
		// classes before it applies Tenants, the fixed one included.
		name: "rolled out, a member not Ready", status: counted(5, ClassMembers{Tenants: 3, Updated: 3, Ready: 2}, false),
		generation: 5, kstatus: kstatus.CurrentStatus,
		argo: "Healthy", argoMsg: "3 Tenants applied generation 5; 2 Ready",
	}, {
		name: "deleting, still in use", status: counted(5, ClassMembers{Tenants: 1, Updated: 1, Ready: 1}, true),
		generation: 5, deleting: true, kstatus: kstatus.TerminatingStatus,
		argo: "Progressing", argoMsg: "Deleting: Deletion waits until no Tenant names this class (1 Tenant)",
	}} {
		t.Run(c.name, func(t *testing.T) {
			class := &tenantryv1alpha1.TenantClass{
				TypeMeta:   metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "TenantClass"},
				ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: c.generation},
			}
			if c.deleting {
				class.DeletionTimestamp, class.Finalizers = &t0, []string{tenantryv1alpha1.ClassFinalizer}
			}
			if c.status != nil {
				class.Status = *c.status
			}
			content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(class)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.status == nil:
				delete(content, "status")
			case c.status.ObservedGeneration == 0:
				content["status"] = map[string]any{"observedGeneration": int64(0)} // as the CRD defaults it
			}
			obj := &unstructured.Unstructured{Object: content}
			res, err := kstatus.Compute(obj)
			if err != nil || res.Status != c.kstatus {
				t.Fatalf("kstatus %v (%v), want %s", res, err, c.kstatus)
			}
			if got, msg := argoHealth(t, script, obj); got != c.argo || msg != c.argoMsg {
				t.Fatalf("Argo CD health = %s %q, want %s %q", got, msg, c.argo, c.argoMsg)
			}
		})
	}
}

// counted is a class's status at generation once its members are counted.
func counted(generation int64, m ClassMembers, deleting bool) *tenantryv1alpha1.TenantClassStatus {
	st := Class(tenantryv1alpha1.TenantClassStatus{}, generation, m, deleting, t0)
	return &st
}
