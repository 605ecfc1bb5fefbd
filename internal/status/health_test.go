package status

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// healthCase is a Tenant in one state, with its status computed by the same
// pure functions the reconciler uses, and the health GitOps tools must read.
type healthCase struct {
	name       string
	generation int64
	observed   int64 // observedGeneration the status carries
	Outcome    Outcome
	kstatus    kstatus.Status
	argo       string
	argoMsg    string
}

func healthCases() []healthCase {
	return []healthCase{{
		name: "ready", generation: 2, observed: 2,
		Outcome: Outcome{Namespaces: active("a", "b"), Managed: 9},
		kstatus: kstatus.CurrentStatus, argo: "Healthy", argoMsg: "2 namespaces and 9 objects in place",
	}, {
		name: "new generation not yet observed", generation: 3, observed: 2,
		Outcome: Outcome{Namespaces: active("a"), Managed: 4},
		kstatus: kstatus.InProgressStatus, argo: "Progressing", argoMsg: "Waiting for the Tenantry operator to observe generation 3",
	}, {
		name: "reconciling after an error", generation: 1, observed: 1,
		Outcome: Outcome{Err: errors.New("etcdserver: request timed out")},
		kstatus: kstatus.InProgressStatus, argo: "Progressing", argoMsg: "ReconcileError: etcdserver: request timed out",
	}, {
		name: "waiting for a namespace", generation: 1, observed: 1,
		Outcome: Outcome{Namespaces: []tenantryv1alpha1.NamespaceStatus{{Name: "a", Phase: tenantryv1alpha1.NamespaceTerminating}}, Progressing: []string{"namespace a"}},
		kstatus: kstatus.InProgressStatus, argo: "Progressing", argoMsg: "Progressing: Waiting for namespace a",
	}, {
		name: "stalled on a conflict", generation: 1, observed: 1,
		Outcome: Outcome{Namespaces: active("a"), Stalled: []Problem{{tenantryv1alpha1.ReasonNamespaceConflict, "Namespace conflict: b (namespace belongs to tenant x)"}}},
		kstatus: kstatus.FailedStatus, argo: "Degraded", argoMsg: "NamespaceConflict: Namespace conflict: b (namespace belongs to tenant x)",
	}, {
		name: "stalled on a forbidden role", generation: 4, observed: 4,
		Outcome: Outcome{Namespaces: active("a"), Stalled: []Problem{{tenantryv1alpha1.ReasonClusterRoleNotAllowed, "ClusterRole cluster-admin not allowed"}}},
		kstatus: kstatus.FailedStatus, argo: "Degraded", argoMsg: "ClusterRoleNotAllowed: ClusterRole cluster-admin not allowed",
	}, {
		// kstatus takes Ready=False for in progress: Flux's wait times out on
		// drift left in place, as it should (the cluster differs from Git).
		name: "drift reported", generation: 1, observed: 1,
		Outcome: Outcome{Namespaces: active("a"), Uncorrected: []Finding{{Key: "NetworkPolicy/a/tenantry-isolation"}}},
		kstatus: kstatus.InProgressStatus,
		argo:    "Degraded", argoMsg: "DriftReported: Managed objects differ from the spec: NetworkPolicy/a/tenantry-isolation",
	}, {
		name: "deleting", generation: 2, observed: 2,
		Outcome: Outcome{Deleting: true, Progressing: []string{"namespace a"}},
		kstatus: kstatus.InProgressStatus, argo: "Progressing", argoMsg: "Deleting: Deleting namespace a",
	}}
}

// tenantObject builds the Tenant as a GitOps tool reads it from the API.
func tenantObject(t *testing.T, c healthCase) *unstructured.Unstructured {
	t.Helper()
	st := Compute(tenantryv1alpha1.TenantStatus{}, c.observed, c.Outcome, t0)
	if c.Outcome.Err != nil {
		st.ObservedGeneration = c.observed
	}
	tn := &tenantryv1alpha1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: tenantryv1alpha1.GroupVersion.String(), Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Name: "t", Generation: c.generation},
		Status:     st,
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tn)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: content}
}

// TestKstatusReadsTenantHealth: Flux (and anything using kstatus) reads a
// Tenant's health from its conditions with no custom code.
func TestKstatusReadsTenantHealth(t *testing.T) {
	for _, c := range healthCases() {
		t.Run(c.name, func(t *testing.T) {
			res, err := kstatus.Compute(tenantObject(t, c))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.kstatus {
				t.Fatalf("kstatus = %s (%s), want %s", res.Status, res.Message, c.kstatus)
			}
		})
	}
}

// TestArgoCDHealthScript runs config/argocd/health.lua the way Argo CD does:
// the object as the global obj, the returned table's status and message.
func TestArgoCDHealthScript(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(healthCases(), healthCase{
		name: "no status yet", generation: 1, argo: "Progressing", argoMsg: "Waiting for the Tenantry operator to reconcile the Tenant",
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := tenantObject(t, c)
			if c.name == "no status yet" {
				delete(obj.Object, "status")
			}
			got, msg := argoHealth(t, script, obj)
			if got != c.argo || msg != c.argoMsg {
				t.Fatalf("health = %s %q, want %s %q", got, msg, c.argo, c.argoMsg)
			}
		})
	}
}

// argoHealth runs the health script on obj and returns its status and message.
func argoHealth(t *testing.T, script []byte, obj *unstructured.Unstructured) (string, string) {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj.Object))
	if err := L.DoString(string(script)); err != nil {
		t.Fatal(err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returned %v, not a table", L.Get(-1))
	}
	return ret.RawGetString("status").String(), ret.RawGetString("message").String()
}

// toLua converts JSON-like Go values to Lua values, lists as 1-based tables.
func toLua(state *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := state.NewTable()
		for k, val := range x {
			t.RawSetString(k, toLua(state, val))
		}
		return t
	case []any:
		t := state.NewTable()
		for _, val := range x {
			t.Append(toLua(state, val))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	}
	return lua.LString("")
}
