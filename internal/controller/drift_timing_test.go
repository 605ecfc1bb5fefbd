package controller

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

// histogram is a histogram's sample count and sum in this process.
func histogram(t *testing.T, name string) (count uint64, sum float64) {
	t.Helper()
	families, err := metricsGather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				count += m.GetHistogram().GetSampleCount()
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return count, sum
}

// TestDriftRepairIsTimed: a repair of someone else's deletion is timed
// once, from the watch seeing it: the queue wait and the whole repair, the
// first no longer than the second nor either than the test waited. A pass
// for the Tenant's own new spec is no repair and is not timed.
func TestDriftRepairIsTimed(t *testing.T) {
	tn := fullTenant("timed")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	waitSettled(t, 500*time.Millisecond)
	var target driftTarget
	for _, d := range driftTargets(tn.Name) {
		if d.kind == kinds.LimitRange {
			target = d
		}
	}
	waits0, waitSum0 := histogram(t, "tenantry_repair_queue_wait_seconds")
	repairs0, repairSum0 := histogram(t, "tenantry_drift_repair_seconds")
	start := time.Now()
	target.act(t, "delete")
	target.waitRestored(t)
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		repairs, _ := histogram(t, "tenantry_drift_repair_seconds")
		g.Expect(repairs - repairs0).To(Equal(uint64(1)))
	}, eventually).Should(Succeed())
	elapsed := time.Since(start).Seconds()
	waits, waitSum := histogram(t, "tenantry_repair_queue_wait_seconds")
	repairs, repairSum := histogram(t, "tenantry_drift_repair_seconds")
	if waits-waits0 != 1 {
		t.Fatalf("queue waits observed: %d, want 1 (the one urgent pass)", waits-waits0)
	}
	wait, repair := waitSum-waitSum0, repairSum-repairSum0
	if wait < 0 || wait > repair || repair > elapsed {
		t.Fatalf("queue wait %.4fs, repair %.4fs, test waited %.4fs: want 0 <= wait <= repair <= waited", wait, repair, elapsed)
	}

	waitSettled(t, 500*time.Millisecond)
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.Namespaces[0].Labels["env"] = "development"
	})
	waitReady(t, tn.Name)
	waitSettled(t, 500*time.Millisecond)
	if after, _ := histogram(t, "tenantry_drift_repair_seconds"); after != repairs {
		t.Fatalf("a spec change was timed as a repair: %d repairs, want %d", after, repairs)
	}
	if after, _ := histogram(t, "tenantry_repair_queue_wait_seconds"); after != waits {
		t.Fatalf("a spec change's pass was taken as urgent: %d queue waits, want %d", after, waits)
	}
}
