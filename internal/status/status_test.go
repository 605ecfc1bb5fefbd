package status

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

var (
	t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 = metav1.NewTime(t0.Add(time.Minute))
)

func active(names ...string) []tenantryv1alpha1.NamespaceStatus {
	var out []tenantryv1alpha1.NamespaceStatus
	for _, n := range names {
		out = append(out, tenantryv1alpha1.NamespaceStatus{Name: n, Phase: tenantryv1alpha1.NamespaceActive})
	}
	return out
}

type condWant struct {
	typ     string
	status  metav1.ConditionStatus // "" means absent
	reason  string
	message string
}

func checkConds(t *testing.T, st tenantryv1alpha1.TenantStatus, wants ...condWant) {
	t.Helper()
	for _, w := range wants {
		c := meta.FindStatusCondition(st.Conditions, w.typ)
		if w.status == "" {
			if c != nil {
				t.Errorf("%s should be absent, got %+v", w.typ, *c)
			}
			continue
		}
		if c == nil {
			t.Errorf("%s missing", w.typ)
			continue
		}
		if c.Status != w.status || c.Reason != w.reason || (w.message != "" && c.Message != w.message) {
			t.Errorf("%s = %s/%s %q, want %s/%s %q", w.typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
		}
	}
}

func TestComputeStatus(t *testing.T) {
	tests := []struct {
		name  string
		prev  tenantryv1alpha1.TenantStatus
		o     Outcome
		gen   int64
		want  []condWant
		check func(t *testing.T, st tenantryv1alpha1.TenantStatus)
	}{{
		name: "all in place: Ready, NoDrift, no Reconciling/Stalled",
		o:    Outcome{Namespaces: active("a", "b"), Managed: 10}, gen: 3,
		want: []condWant{
			{tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled, "2 namespaces and 10 objects in place"},
			{tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse, tenantryv1alpha1.ReasonNoDrift, "No drift found"},
			{typ: tenantryv1alpha1.ConditionReconciling}, {typ: tenantryv1alpha1.ConditionStalled},
		},
		check: func(t *testing.T, st tenantryv1alpha1.TenantStatus) {
			if st.ObservedGeneration != 3 || st.NamespaceCount != 2 || st.ManagedObjects != 10 {
				t.Errorf("status = %+v", st)
			}
		},
	}, {
		name: "conflicts stall with every message, sorted",
		o: Outcome{Namespaces: active("a"), Stalled: []Problem{
			{tenantryv1alpha1.ReasonNamespaceConflict, "Namespace conflict: x (namespace belongs to tenant b)"},
			{tenantryv1alpha1.ReasonClusterRoleNotAllowed, "ClusterRole cluster-admin not allowed"},
		}}, gen: 1,
		want: []condWant{
			{tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonClusterRoleNotAllowed,
				"ClusterRole cluster-admin not allowed; Namespace conflict: x (namespace belongs to tenant b)"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonClusterRoleNotAllowed, ""},
			{typ: tenantryv1alpha1.ConditionReconciling},
		},
	}, {
		name: "transient error: Reconciling, generation and namespaces not moved",
		prev: tenantryv1alpha1.TenantStatus{ObservedGeneration: 1, Namespaces: active("old")},
		o:    Outcome{Namespaces: active("new"), Err: errors.New("boom")}, gen: 2,
		want: []condWant{
			{tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconcileError, "boom"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonReconcileError, "boom"},
		},
		check: func(t *testing.T, st tenantryv1alpha1.TenantStatus) {
			if st.ObservedGeneration != 1 || st.Namespaces[0].Name != "old" {
				t.Errorf("a failed pass must not move observedGeneration or namespaces: %+v", st)
			}
		},
	}, {
		name: "drift corrected: counter, records newest first, DriftCorrected",
		prev: tenantryv1alpha1.TenantStatus{DriftCorrections: 2},
		o: Outcome{Namespaces: active("a"), Managed: 3,
			Corrected:  []Finding{{Key: "ResourceQuota/a/tenantry-compute", Fields: []string{"spec.hard.pods"}, Manager: "intruder"}},
			NewRecords: []tenantryv1alpha1.DriftRecord{{Kind: "ResourceQuota", Name: "tenantry-compute", Action: tenantryv1alpha1.DriftActionCorrected}}},
		gen: 1,
		want: []condWant{
			{tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse, tenantryv1alpha1.ReasonDriftCorrected,
				"Corrected: ResourceQuota/a/tenantry-compute (spec.hard.pods) by intruder"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionTrue, tenantryv1alpha1.ReasonReconciled, ""},
		},
		check: func(t *testing.T, st tenantryv1alpha1.TenantStatus) {
			if st.DriftCorrections != 3 || len(st.Drift) != 1 {
				t.Errorf("drift bookkeeping: %+v", st)
			}
		},
	}, {
		name: "reported drift: Drifted True, Ready False",
		o: Outcome{Namespaces: active("a"), Uncorrected: []Finding{
			{Key: "NetworkPolicy/a/tenantry-isolation"}, {Key: "LimitRange/a/tenantry-defaults", Manager: "kubectl"}}},
		gen: 1,
		want: []condWant{
			{tenantryv1alpha1.ConditionDrifted, metav1.ConditionTrue, tenantryv1alpha1.ReasonDriftDetected,
				"Drifted: LimitRange/a/tenantry-defaults by kubectl; NetworkPolicy/a/tenantry-isolation"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonDriftReported, ""},
		},
	}, {
		name: "drift gone after a report: DriftCorrected, resolved",
		prev: tenantryv1alpha1.TenantStatus{Conditions: []metav1.Condition{{Type: tenantryv1alpha1.ConditionDrifted, Status: metav1.ConditionTrue, Reason: tenantryv1alpha1.ReasonDriftDetected}}},
		o:    Outcome{Namespaces: active("a")}, gen: 1,
		want: []condWant{{tenantryv1alpha1.ConditionDrifted, metav1.ConditionFalse, tenantryv1alpha1.ReasonDriftCorrected, "Drift resolved; all managed objects match the spec"}},
	}, {
		name: "namespace pending: Reconciling and not Ready",
		o: Outcome{Namespaces: []tenantryv1alpha1.NamespaceStatus{{Name: "a", Phase: tenantryv1alpha1.NamespaceTerminating}},
			Progressing: []string{"namespace a"}}, gen: 1,
		want: []condWant{
			{tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenantryv1alpha1.ReasonProgressing, "Waiting for namespace a"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonProgressing, "Waiting for namespace a"},
		},
	}, {
		name: "deleting",
		o:    Outcome{Deleting: true, Progressing: []string{"namespace b", "namespace a"}}, gen: 2,
		want: []condWant{
			{tenantryv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenantryv1alpha1.ReasonDeleting, "Deleting namespace a, namespace b"},
			{tenantryv1alpha1.ConditionReady, metav1.ConditionFalse, tenantryv1alpha1.ReasonDeleting, ""},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Compute(tt.prev, tt.gen, tt.o, t0)
			checkConds(t, st, tt.want...)
			if tt.check != nil {
				tt.check(t, st)
			}
			// Pure and stable: the same inputs again, later, change nothing.
			if again := Compute(st, tt.gen, tt.o, t1); fmt.Sprint(again.Conditions) != fmt.Sprint(st.Conditions) && tt.o.Err == nil && len(tt.o.Corrected) == 0 {
				t.Errorf("status flaps:\n%v\n%v", st.Conditions, again.Conditions)
			}
		})
	}
}

func TestDriftRecordsKeepTen(t *testing.T) {
	var prev []tenantryv1alpha1.DriftRecord
	for i := range 15 {
		prev = appendDriftRecords(prev, []tenantryv1alpha1.DriftRecord{{Name: fmt.Sprint(i)}})
	}
	if len(prev) != maxDriftRecords || prev[0].Name != "14" || prev[9].Name != "5" {
		t.Fatalf("records = %v", prev)
	}
}

func TestConditionMessagesCapped(t *testing.T) {
	var fs []Finding
	for i := range 8 {
		fs = append(fs, Finding{Key: fmt.Sprintf("NetworkPolicy/ns/p%d", 7-i)})
	}
	if got, want := ListFindings(fs), "NetworkPolicy/ns/p0; NetworkPolicy/ns/p1; NetworkPolicy/ns/p2; NetworkPolicy/ns/p3; NetworkPolicy/ns/p4; and 3 more"; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestTransitions(t *testing.T) {
	ready := Compute(tenantryv1alpha1.TenantStatus{}, 1, Outcome{Namespaces: active("a"), Managed: 3}, t0)
	stalled := Compute(ready, 2, Outcome{Namespaces: active("a"), Stalled: []Problem{{tenantryv1alpha1.ReasonNamespaceConflict, "Namespace conflict: b"}}}, t1)
	tests := []struct {
		name       string
		prev, next tenantryv1alpha1.TenantStatus
		want       []Transition
	}{
		{"becomes Ready", tenantryv1alpha1.TenantStatus{}, ready, []Transition{{"Normal", "Ready", "1 namespace and 3 objects in place"}}},
		{"nothing changed", ready, ready, nil},
		{"stalls", ready, stalled, []Transition{
			{"Warning", "NotReady", "NamespaceConflict: Namespace conflict: b"},
			{"Warning", "NamespaceConflict", "Namespace conflict: b"}}},
		{"stays stalled", stalled, stalled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transitions(tt.prev, tt.next); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestConflictListSortedUniqueCapped(t *testing.T) {
	var cs []tenantryv1alpha1.ObjectConflict
	for i := 30; i > 0; i-- {
		c := tenantryv1alpha1.ObjectConflict{Kind: "Namespace", Name: "ns-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Message: "m"}
		cs = append(cs, c, c)
	}
	got := conflictList(cs)
	if len(got) != maxConflicts || got[0].Name > got[1].Name || got[0] == got[1] {
		t.Fatalf("conflicts must be deduplicated, sorted and capped: %d %v", len(got), got[:2])
	}
}
