package status

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// TestClaimHealth: a claim's status, computed as the reconciler does, reads
// the same in kstatus (Flux) and in the Argo CD health script.
func TestClaimHealth(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	refused := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 1, Reason: tenantryv1alpha1.ReasonMaxNamespaces,
		Message: "tenant team has 3 claimed namespaces, at most 3 allowed by selfService.maxNamespaces"}
	accepted := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 1, Accepted: true}
	halted := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 1, Halted: true, Reason: tenantryv1alpha1.ReasonClassNotFound,
		Message: "Tenant team: TenantClass gold does not exist; nothing of this spec was applied or changed until it does"}
	pending, active := accepted, accepted
	pending.Phase, active.Phase = tenantryv1alpha1.NamespacePending, tenantryv1alpha1.NamespaceActive
	cases := []struct {
		name    string
		v       ClaimVerdict
		err     error
		status  bool // no status yet
		kstatus kstatus.Status
		argo    string
		argoMsg string
	}{
		// kstatus takes an object without status for Current (its generic
		// rule); Flux waits on Ready once the operator wrote it.
		{name: "no status yet", status: false, kstatus: kstatus.CurrentStatus, argo: "Progressing",
			argoMsg: "Waiting for the Tenantry operator to reconcile the NamespaceClaim"},
		{name: "ready", v: active, status: true, kstatus: kstatus.CurrentStatus, argo: "Healthy",
			argoMsg: "namespace team-x is Active and reconciled"},
		{name: "waiting", v: pending, status: true, kstatus: kstatus.InProgressStatus, argo: "Progressing",
			argoMsg: "Progressing: Waiting for namespace team-x"},
		{name: "pass failed", v: active, err: errors.New("etcdserver: request timed out"), status: true,
			kstatus: kstatus.InProgressStatus, argo: "Progressing", argoMsg: "ReconcileError: etcdserver: request timed out"},
		{name: "refused", v: refused, status: true, kstatus: kstatus.FailedStatus, argo: "Degraded",
			argoMsg: "MaxNamespaces: tenant team has 3 claimed namespaces, at most 3 allowed by selfService.maxNamespaces"},
		{name: "its Tenant halted", v: halted, status: true, kstatus: kstatus.FailedStatus, argo: "Degraded",
			argoMsg: "ClassNotFound: " + halted.Message},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claim := &tenantryv1alpha1.NamespaceClaim{
				TypeMeta:   metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "NamespaceClaim"},
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-dev", Name: "team-x", Generation: 1},
			}
			if c.status {
				claim.Status = Claim(tenantryv1alpha1.NamespaceClaimStatus{}, c.v, c.err, t0)
			}
			content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(claim)
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{Object: content}
			if !c.status {
				delete(obj.Object, "status")
			}
			res, err := kstatus.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.kstatus {
				t.Fatalf("kstatus = %s (%s), want %s", res.Status, res.Message, c.kstatus)
			}
			if got, msg := argoHealth(t, script, obj); got != c.argo || msg != c.argoMsg {
				t.Fatalf("health = %s %q, want %s %q", got, msg, c.argo, c.argoMsg)
			}
		})
	}
}

// TestClaimStatusTransitions: Reconciling and Stalled are present only while
// True, and a status that does not change keeps its transition times (so a
// pass that changes nothing writes nothing).
func TestClaimStatusTransitions(t *testing.T) {
	v := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 1, Accepted: true, Phase: tenantryv1alpha1.NamespacePending}
	st := Claim(tenantryv1alpha1.NamespaceClaimStatus{}, v, nil, t0)
	if !meta.IsStatusConditionTrue(st.Conditions, tenantryv1alpha1.ConditionReconciling) || st.Namespace != "team-x" {
		t.Fatalf("pending: %+v", st)
	}
	v.Phase = tenantryv1alpha1.NamespaceActive
	later := metav1.NewTime(t0.Add(1e9))
	ready := Claim(st, v, nil, later)
	if meta.FindStatusCondition(ready.Conditions, tenantryv1alpha1.ConditionReconciling) != nil ||
		meta.FindStatusCondition(ready.Conditions, tenantryv1alpha1.ConditionStalled) != nil ||
		!meta.IsStatusConditionTrue(ready.Conditions, tenantryv1alpha1.ConditionReady) {
		t.Fatalf("ready: %+v", ready)
	}
	if again := Claim(ready, v, nil, metav1.NewTime(t0.Add(2e9))); !equality.Semantic.DeepEqual(again, ready) {
		t.Fatalf("an unchanged verdict changes the status: %+v", again)
	}
}

// TestClaimOfAHaltedTenant: a claim whose Tenant is halted is Stalled with
// the Tenant's reason, Ready False, not Reconciling; a claim that had its
// namespace keeps it in status.namespace (nothing is taken away), and it
// becomes Ready again once the Tenant is no longer halted.
func TestClaimOfAHaltedTenant(t *testing.T) {
	const reason, message = tenantryv1alpha1.ReasonClassConstraintViolated, "Tenant team: 3 namespaces, at most 2 (TenantClass gold); nothing of this spec was applied or changed"
	halted := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 2, Halted: true, Reason: reason, Message: message}
	active := ClaimVerdict{Namespace: "team-dev", Name: "team-x", Generation: 2, Accepted: true, Phase: tenantryv1alpha1.NamespaceActive}
	for _, tt := range []struct {
		name      string
		prev      tenantryv1alpha1.NamespaceClaimStatus
		namespace string
	}{
		{name: "never decided", namespace: ""},
		{name: "had its namespace", prev: Claim(tenantryv1alpha1.NamespaceClaimStatus{}, active, nil, t0), namespace: "team-x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := Claim(tt.prev, halted, nil, t0)
			ready, stalled := meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionReady), meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionStalled)
			if st.ObservedGeneration != 2 || st.Namespace != tt.namespace || ready == nil || stalled == nil ||
				meta.FindStatusCondition(st.Conditions, tenantryv1alpha1.ConditionReconciling) != nil ||
				ready.Status != metav1.ConditionFalse || ready.Reason != reason || ready.Message != message ||
				stalled.Status != metav1.ConditionTrue || stalled.Reason != reason || stalled.Message != message {
				t.Fatalf("halted: %+v", st)
			}
			back := Claim(st, active, nil, t0)
			if !meta.IsStatusConditionTrue(back.Conditions, tenantryv1alpha1.ConditionReady) ||
				meta.FindStatusCondition(back.Conditions, tenantryv1alpha1.ConditionStalled) != nil || back.Namespace != "team-x" {
				t.Fatalf("no longer halted: %+v", back)
			}
		})
	}
}
