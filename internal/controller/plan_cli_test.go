package controller

// `tenantry plan` (internal/cli) against a real API server, with the
// operator of this suite running: what the plan predicts is what the
// operator then writes, and the plan itself writes nothing (runPlan fails a
// test on any request that is not a dry run).

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cli"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// TestPlanCLINewTenant: the plan of a new Tenant lists every object as a
// creation (exit 2), the operator then makes exactly those writes, and the
// plan of the reconciled Tenant is empty (exit 0).
func TestPlanCLINewTenant(t *testing.T) {
	tn := fullTenant("cli-new")
	file := manifest(t, tn)
	run, rep := planJSON(t, file)
	if run.code != cli.ExitChanges || len(rep.Tenants) != 1 || rep.Tenants[0].State != cli.StateNew {
		t.Fatalf("exit %d, report %+v", run.code, rep)
	}
	for _, a := range rep.Tenants[0].Actions {
		if a.Op != cli.OpCreate {
			t.Errorf("a new Tenant only creates: %+v", a)
		}
	}
	if rep.Summary.Create != 16 || len(rep.Tenants[0].Actions) != 16 {
		t.Fatalf("want the 16 objects of fullTenant, got %+v", rep.Summary)
	}
	// The Tenant itself, then its quota, limit range and extra policy.
	if run.dryRuns != 4 {
		t.Errorf("want 4 dry runs, got %d", run.dryRuns)
	}
	if got, want := renderedKeys(t, file), createdKeys(rep); !slices.Equal(got, want) {
		t.Fatalf("render is not what plan creates:\n render %v\n   plan %v", got, want)
	}
	text := runPlan(t, false, file)
	for _, want := range []string{"Tenant cli-new (new)\n  + create Namespace/cli-new-dev\n  + create Namespace/cli-new-prod\n",
		"  + create ClusterRoleBinding/tenantry:tenant:cli-new\n",
		"Plan: 16 to create, 0 to change, 0 to adopt, 0 to prune, 0 to release, 0 to DELETE.\n"} {
		if !strings.Contains(text.out, want) {
			t.Errorf("text plan lacks %q", want)
		}
	}

	waitSettled(t, 500*time.Millisecond)
	before := writes.snapshot()
	createTenant(t, tn)
	waitReady(t, tn.Name)
	waitSettled(t, time.Second)
	if got, want := operatorWrites(before, "cli-new"), plannedWrites(t, rep); !slices.Equal(got, want) {
		t.Fatalf("the operator's writes are not the plan's:\n got %v\nwant %v", got, want)
	}

	again := runPlan(t, false, file)
	want := "Tenant cli-new (exists; spec unchanged)\n  no changes\nPlan: 0 to create, 0 to change, 0 to adopt, 0 to prune, 0 to release, 0 to DELETE.\n"
	if again.code != cli.ExitNoChanges || again.out != want {
		t.Fatalf("plan of the reconciled Tenant: exit %d\n%s", again.code, again.out)
	}
	if again.dryRuns != 1 {
		t.Errorf("an applied spec is not dry-run again, only the Tenant: %d dry runs", again.dryRuns)
	}
}

// TestPlanCLIChangeAndDelete: a spec that raises a quota and drops a
// namespace under deletionPolicy Delete: the change shows its old and new
// value, the deletion stands out with what the namespace holds (secrets
// only for who may list them), and the operator makes exactly those writes.
func TestPlanCLIChangeAndDelete(t *testing.T) {
	tn := newTenant("cli-del", "cli-del-keep", "cli-del-drop")
	tn.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyDelete
	tn.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
		Hard: corev1.ResourceList{"services.loadbalancers": resource.MustParse("1")}}}
	createTenant(t, tn)
	t.Cleanup(func() {
		// Retained, not deleted: envtest never finishes a namespace
		// deletion, and the Tenant would wait for it.
		updateTenant(t, tn.Name, func(live *tenantryv1alpha1.Tenant) {
			live.Spec.DeletionPolicy = tenantryv1alpha1.DeletionPolicyRetain
		})
		waitObserved(t, tn.Name)
		deleteTenant(t, tn.Name)
		removeNamespace(t, "cli-del-drop")
	})
	waitReady(t, tn.Name)
	fillNamespace(t, "cli-del-drop")

	changed := tn.DeepCopy()
	changed.Spec.Namespaces = changed.Spec.Namespaces[:1]
	changed.Spec.ResourceQuotas[0].Hard["services.loadbalancers"] = resource.MustParse("2")
	file := manifest(t, changed)
	run := runPlan(t, false, file)
	const contents = "configmaps: 2, networkpolicies.networking.k8s.io: 1, persistentvolumeclaims: 1, pods: 1, " +
		"resourcequotas: 1, rolebindings.rbac.authorization.k8s.io: 1"
	for _, want := range []string{
		"Tenant cli-del (exists; spec changed)\n",
		"  ~ change ResourceQuota/cli-del-keep/tenantry-compute: spec.hard[\"services.loadbalancers\"] 1 → 2\n",
		"  !! DELETE Namespace/cli-del-drop and everything in it: " + contents +
			", serviceaccounts: 1; not counted (could not list them): secrets\n",
		"WARNING: 1 namespace would be DELETED, with everything in it: cli-del-drop.\n",
	} {
		if !strings.Contains(run.out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if run.code != cli.ExitChanges {
		t.Fatalf("exit %d", run.code)
	}
	if admin := runPlan(t, true, file); !strings.Contains(admin.out, contents+", secrets: 1, serviceaccounts: 1\n") {
		t.Error("who may list secrets sees them counted")
	}

	_, rep := planJSON(t, file)
	waitSettled(t, 500*time.Millisecond)
	before := writes.snapshot()
	updateTenant(t, tn.Name, func(live *tenantryv1alpha1.Tenant) { live.Spec = changed.Spec })
	waitObserved(t, tn.Name)
	if got, want := operatorWrites(before, "cli-del"), plannedWrites(t, rep); !slices.Equal(got, want) {
		t.Fatalf("the operator's writes are not the plan's:\n got %v\nwant %v", got, want)
	}
	if ns := get(t, &corev1.Namespace{}, "", "cli-del-drop"); ns.DeletionTimestamp.IsZero() {
		t.Fatal("the namespace the plan said would be deleted was not")
	}
}

// renderedKeys are the objects `tenantry render` prints for file, sorted.
func renderedKeys(t *testing.T, file string) []string {
	t.Helper()
	var out, stderr bytes.Buffer
	if code := (cli.Runner{In: strings.NewReader(file), Out: &out, Err: &stderr}).Run(context.Background(), []string{"render", "-f", "-"}); code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr.String())
	}
	var keys []string
	for _, doc := range strings.Split(out.String(), "---\n")[1:] {
		var obj struct {
			Kind     string
			Metadata struct{ Namespace, Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, kinds.Key(obj.Kind, obj.Metadata.Namespace, obj.Metadata.Name))
	}
	slices.Sort(keys)
	return keys
}

// createdKeys are the objects the plans create, sorted.
func createdKeys(rep cli.Report) []string {
	var keys []string
	for _, tr := range rep.Tenants {
		for _, a := range tr.Actions {
			if a.Op == cli.OpCreate {
				keys = append(keys, a.Key())
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// fillNamespace puts what a team runs into a namespace, as the admin.
func fillNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	restricted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "app", Image: "app", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}}
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		restricted,
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// TestPlanCLIProblems: in one file, a Tenant meeting a namespace of another
// tenant and a forbidden ClusterRole, one whose quota the API server refuses
// and one the CRD refuses. The plan shows each; the refused Tenant makes it
// exit 1, without it 2. The operator then does what the plan said.
func TestPlanCLIProblems(t *testing.T) {
	createNamespace(t, "cli-bad-theirs", map[string]string{tenantryv1alpha1.TenantLabel: "someone-else"})
	t.Cleanup(func() { removeNamespace(t, "cli-bad-theirs") })
	stalled := newTenant("cli-bad-stalled", "cli-bad-mine", "cli-bad-theirs")
	stalled.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "ops", ClusterRole: "cluster-admin",
		Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "ops", APIGroup: rbacv1.GroupName}}}}
	invalid := newTenant("cli-bad-quota", "cli-bad-quota-a")
	invalid.Spec.ResourceQuotas = []tenantryv1alpha1.TenantResourceQuota{{Name: "compute",
		Hard: corev1.ResourceList{"pods": resource.MustParse("500m")}}}
	refused := newTenant("cli-bad-crd", "kube-system")

	run := runPlan(t, false, manifest(t, stalled, invalid, refused))
	for _, want := range []string{
		"Tenant cli-bad-stalled (new)\n  + create Namespace/cli-bad-mine\n",
		"  ! conflict Namespace/cli-bad-theirs: namespace belongs to tenant someone-else\n",
		"  ! stalled ClusterRoleNotAllowed: ClusterRole cluster-admin not allowed: this operator binds only admin, edit, view (--allowed-cluster-roles); no role binding was created or changed\n",
		"  ! stalled NamespaceConflict: Namespace conflict: cli-bad-theirs (namespace belongs to tenant someone-else)\n",
		"Tenant cli-bad-quota (new)\n  ! refused by the API server (dry run): ResourceQuota tenantry-compute: spec.hard[pods]: ",
		"must be an integer\n    nothing of this spec would be applied\nTenant cli-bad-crd (new)\n",
		"  !! refused by the API server (dry run): Tenant.tenantry.io \"cli-bad-crd\" is invalid: ",
		"a system namespace (default, kube-system, kube-public, kube-node-lease) can never be a tenant namespace",
		"ERROR: the API server refuses an object of the input.\n",
	} {
		if !strings.Contains(run.out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(run.out, "RoleBinding/cli-bad-mine/tenantry-owner") || strings.Contains(run.out, "cli-bad-quota-a") {
		t.Error("nothing is bound under a forbidden ClusterRole, nothing made of a refused spec")
	}
	if run.code != cli.ExitError {
		t.Fatalf("a Tenant the API server refuses: want exit 1, got %d", run.code)
	}
	without, rep := planJSON(t, manifest(t, stalled, invalid))
	if without.code != cli.ExitChanges || rep.Summary.Refused != 0 || len(rep.Tenants[1].Refusals) != 1 {
		t.Fatalf("without the refused Tenant: exit %d, %+v", without.code, rep.Summary)
	}

	waitSettled(t, 500*time.Millisecond)
	before := writes.snapshot()
	createTenant(t, stalled)
	createTenant(t, invalid)
	waitObserved(t, stalled.Name)
	waitObserved(t, invalid.Name)
	if got, want := operatorWrites(before, "cli-bad"), plannedWrites(t, rep); !slices.Equal(got, want) {
		t.Fatalf("the operator's writes are not the plan's:\n got %v\nwant %v", got, want)
	}
}

// TestPlanRoleOnlyDryRuns: config/rbac/plan_role.yaml lets the plan's
// ServiceAccount dry-run a Tenant, and refuses it the same write for real.
func TestPlanRoleOnlyDryRuns(t *testing.T) {
	setupPlanCLI(t)
	cfg := rest.CopyConfig(adminCfg)
	user, groups := localcluster.ServiceAccountUser(planNamespace, planSA)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, newTenant("cli-role", "cli-role-a"), client.DryRunAll); err != nil {
		t.Fatalf("dry run refused: %v", err)
	}
	g := NewWithT(t)
	g.Eventually(func() error { // the policy takes effect once the API server has loaded it
		tn := newTenant("cli-role", "cli-role-a")
		err := c.Create(ctx, tn)
		if err == nil {
			_ = k8s.Delete(ctx, tn)
		}
		return err
	}, eventually, 200*time.Millisecond).Should(MatchError(ContainSubstring("tenantry-plan only reads and dry-runs")))
}
