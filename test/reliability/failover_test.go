package reliability

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestFailoverOnKill: the leader is killed (-9) in the middle of creating
// 200 Tenants; the standby takes the lease once it expires and finishes
// every Tenant, with no object missing or doubled and no namespace deleted.
func TestFailoverOnKill(t *testing.T) {
	const n = 200
	a := startOperator(t, "a")
	waitLeader(t, a)
	b := startOperator(t, "b")
	if isLeader(b) {
		t.Fatal("two leaders")
	}
	holder := leaseHolder(context.Background())

	names := createTenants(t, "kill", n)
	waitReadyAtLeast(t, "kill", 20, 2*time.Minute)
	before := namespaceUIDs(t, "kill")
	readyAtKill, _ := readyCount(context.Background(), "kill")
	if readyAtKill == n {
		t.Fatal("every Tenant was Ready before the kill: the failover happened after the work")
	}
	killed := time.Now()
	if err := a.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.Done()

	took := waitHolderChange(t, holder, 2*time.Minute)
	waitLeader(t, b)
	resumed := waitReadyAtLeast(t, "kill", readyAtKill+1, 2*time.Minute)
	done := waitReadyAtLeast(t, "kill", n, 3*time.Minute)
	checkComplete(t, names, before)
	assertNoDrift(t, names)
	t.Logf("kill -9 of the leader with %d of %d Tenants Ready: lease taken over after %s (lease duration 35 s), "+
		"progress resumed after %s, all %d Ready %s after the kill; %d namespaces that existed at the kill kept their UIDs",
		readyAtKill, n, took.Sub(killed).Round(100*time.Millisecond), resumed.Sub(killed).Round(100*time.Millisecond),
		n, done.Sub(killed).Round(100*time.Millisecond), len(before))
}

// TestHandoverOnSIGTERM: a rolling update's SIGTERM makes the leader finish
// its in-flight reconciles, release the lease and exit within its grace
// period; the standby takes over at once and finishes what was left, so no
// Tenant is left half-applied.
func TestHandoverOnSIGTERM(t *testing.T) {
	const n = 100
	a := startOperator(t, "a")
	waitLeader(t, a)
	b := startOperator(t, "b")
	holder := leaseHolder(context.Background())

	names := createTenants(t, "term", n)
	waitReadyAtLeast(t, "term", 10, 2*time.Minute)
	before := namespaceUIDs(t, "term")
	readyAtTerm, _ := readyCount(context.Background(), "term")
	if readyAtTerm == n {
		t.Fatal("every Tenant was Ready before SIGTERM: the handover happened after the work")
	}
	termed := time.Now()
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	const gracePeriod = 10 * time.Second // terminationGracePeriodSeconds in config/manager
	select {
	case <-a.Done():
	case <-time.After(gracePeriod):
		t.Fatalf("the leader did not exit within the %s grace period after SIGTERM", gracePeriod)
	}
	exited := time.Now()
	if code := a.ExitCode(); code != 0 {
		t.Errorf("the leader exited with %d after SIGTERM, want 0", code)
	}
	took := waitHolderChange(t, holder, time.Minute)
	// Without a release the standby would wait out the 35 s lease.
	if gap := took.Sub(termed); gap > 15*time.Second {
		t.Errorf("the standby took over %s after SIGTERM: the lease was not released", gap)
	}
	waitLeader(t, b)
	done := waitReadyAtLeast(t, "term", n, 3*time.Minute)
	checkComplete(t, names, before)
	assertNoDrift(t, names)
	t.Logf("SIGTERM to the leader with %d of %d Tenants Ready: it exited after %s (exit code 0), "+
		"the standby held the lease %s after SIGTERM, all %d Ready %s after SIGTERM",
		readyAtTerm, n, exited.Sub(termed).Round(10*time.Millisecond), took.Sub(termed).Round(10*time.Millisecond),
		n, done.Sub(termed).Round(100*time.Millisecond))
}
