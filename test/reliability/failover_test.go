package reliability

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/localcluster"
)

// TestFailoverOnKill: the leader is killed (-9) in the middle of creating
// 200 Tenants; the standby takes the lease once it expires and finishes
// every Tenant, with no object missing or doubled and no namespace deleted.
func TestFailoverOnKill(t *testing.T) {
	const n = 200
	r := startRollout(t, "kill", n, 20)
	a, b, readyAtKill := r.leader, r.standby, r.ready
	killed := time.Now()
	if err := a.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.Done()

	took := waitHolderChange(t, r.holder, 2*time.Minute)
	waitLeader(t, b)
	resumed := waitReadyAtLeast(t, "kill", readyAtKill+1, 2*time.Minute)
	done := waitReadyAtLeast(t, "kill", n, 3*time.Minute)
	checkComplete(t, r.names, r.before)
	assertNoDrift(t, r.names)
	t.Logf("kill -9 of the leader with %d of %d Tenants Ready: lease taken over after %s (lease duration 35 s), "+
		"progress resumed after %s, all %d Ready %s after the kill; %d namespaces that existed at the kill kept their UIDs",
		readyAtKill, n, took.Sub(killed).Round(100*time.Millisecond), resumed.Sub(killed).Round(100*time.Millisecond),
		n, done.Sub(killed).Round(100*time.Millisecond), len(r.before))
}

// TestHandoverOnSIGTERM: a rolling update's SIGTERM makes the leader finish
// its in-flight reconciles, release the lease and exit within its grace
// period; the standby takes over at once and finishes what was left, so no
// Tenant is left half-applied.
func TestHandoverOnSIGTERM(t *testing.T) {
	const n = 100
	r := startRollout(t, "term", n, 10)
	a, b, readyAtTerm := r.leader, r.standby, r.ready
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
	took := waitHolderChange(t, r.holder, time.Minute)
	// Without a release the standby would wait out the 35 s lease.
	if gap := took.Sub(termed); gap > 15*time.Second {
		t.Errorf("the standby took over %s after SIGTERM: the lease was not released", gap)
	}
	waitLeader(t, b)
	done := waitReadyAtLeast(t, "term", n, 3*time.Minute)
	checkComplete(t, r.names, r.before)
	assertNoDrift(t, r.names)
	t.Logf("SIGTERM to the leader with %d of %d Tenants Ready: it exited after %s (exit code 0), "+
		"the standby held the lease %s after SIGTERM, all %d Ready %s after SIGTERM",
		readyAtTerm, n, exited.Sub(termed).Round(10*time.Millisecond), took.Sub(termed).Round(10*time.Millisecond),
		n, done.Sub(termed).Round(100*time.Millisecond))
}

// rollout is a leader and a standby in the middle of creating Tenants.
type rollout struct {
	leader, standby *localcluster.Operator
	names           []string
	before          map[string]string // namespace UIDs when the rollout was interrupted
	holder          string            // the leader's Lease identity
	ready           int               // Tenants Ready when the rollout was interrupted
}

// startRollout starts a leader and a standby, creates n load Tenants and
// returns once at least minReady (and not all) of them are Ready.
func startRollout(t *testing.T, prefix string, n, minReady int) rollout {
	t.Helper()
	r := rollout{leader: startOperator(t, "a")}
	waitLeader(t, r.leader)
	r.standby = startOperator(t, "b")
	if isLeader(r.standby) {
		t.Fatal("two leaders")
	}
	r.holder = leaseHolder(context.Background())
	r.names = createTenants(t, prefix, n)
	waitReadyAtLeast(t, prefix, minReady, 2*time.Minute)
	r.before = namespaceUIDs(t, prefix)
	r.ready, _ = readyCount(context.Background(), prefix)
	if r.ready == n {
		t.Fatal("every Tenant was Ready already: the leader would be interrupted after the work")
	}
	return r
}
