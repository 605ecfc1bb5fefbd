package status

import (
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
		{"a Stalled member counts as updated", count(stalled(member(1, 1, 4, false)), member(1, 1, 5, true)), false,
			metav1.ConditionTrue, "", ReasonRolledOut, "2 Tenants applied generation 5; 1 Ready"},
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

// TestKstatusWaitsOnAClassRollout: Flux and Argo CD (kstatus) see a class
// in progress until every member applied its generation.
func TestKstatusWaitsOnAClassRollout(t *testing.T) {
	for _, c := range []struct {
		m    ClassMembers
		want kstatus.Status
	}{
		{ClassMembers{Tenants: 3, Updated: 1, Ready: 3}, kstatus.InProgressStatus},
		{ClassMembers{Tenants: 3, Updated: 3, Ready: 3}, kstatus.CurrentStatus},
		// A member that is not Ready does not hold the class: Flux waits for
		// classes before it applies Tenants, the fixed one included.
		{ClassMembers{Tenants: 3, Updated: 3, Ready: 2}, kstatus.CurrentStatus},
	} {
		class := &tenantryv1alpha1.TenantClass{
			TypeMeta:   metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "TenantClass"},
			ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 5},
			Status:     Class(tenantryv1alpha1.TenantClassStatus{}, 5, c.m, false, t0),
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(class)
		if err != nil {
			t.Fatal(err)
		}
		res, err := kstatus.Compute(&unstructured.Unstructured{Object: content})
		if err != nil || res.Status != c.want {
			t.Fatalf("%+v: kstatus %v (%v), want %s", c.m, res, err, c.want)
		}
	}
}
