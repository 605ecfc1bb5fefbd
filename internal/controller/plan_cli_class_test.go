package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cli"
)

// TestPlanCLIClassChange: a file that changes only a TenantClass plans its
// members in the cluster too (applying the class changes them), with the
// change; the operator's rollout then makes exactly those writes. The same
// class unchanged plans nothing.
func TestPlanCLIClassChange(t *testing.T) {
	class := goldClass("cli-tier")
	createClass(t, class)
	member := newTenant("cli-tier-a", "cli-tier-a-dev")
	member.Spec.Class = class.Name
	createTenant(t, member)
	waitReady(t, member.Name)
	waitRolledOut(t, class.Name, 1)

	same := runPlan(t, false, manifest(t, class))
	want := "TenantClass cli-tier (exists; spec unchanged)\nPlan: 0 to create, 0 to change, 0 to adopt, 0 to prune, 0 to release, 0 to DELETE.\n"
	if same.code != cli.ExitNoChanges || same.out != want {
		t.Fatalf("the class as it is: exit %d\n%s", same.code, same.out)
	}

	changed := class.DeepCopy()
	changed.Spec.Defaults.ResourceQuotas[0].Hard["pods"] = resource.MustParse("20")
	file := manifest(t, changed)
	run := runPlan(t, false, file)
	for _, want := range []string{
		"TenantClass cli-tier (exists; spec changed)\n",
		"Tenant cli-tier-a (exists; spec unchanged; TenantClass cli-tier changed; not in the input)\n" +
			"  ~ change ResourceQuota/cli-tier-a-dev/tenantry-compute: spec.hard.pods 10 → 20\n",
		"Plan: 0 to create, 1 to change,",
	} {
		if !strings.Contains(run.out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if run.code != cli.ExitChanges {
		t.Fatalf("exit %d", run.code)
	}

	_, rep := planJSON(t, file)
	waitSettled(t, 500*time.Millisecond)
	before := writes.snapshot()
	updateClass(t, class.Name, func(c *tenantryv1alpha1.TenantClass) { c.Spec = changed.Spec })
	waitRolledOut(t, class.Name, 1)
	waitSettled(t, time.Second)
	if got, want := operatorWrites(before, "cli-tier-a"), plannedWrites(t, rep); !slices.Equal(got, want) {
		t.Fatalf("the operator's writes are not the plan's:\n got %v\nwant %v", got, want)
	}
}
