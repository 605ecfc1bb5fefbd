// Command bench is `make bench`: how Tenantry scales, measured against the
// floor the API server sets on the same machine in the same run.
//
// For each size N it starts a fresh local control plane twice:
//   - floor: server-side apply exactly the objects Tenantry would create for N
//     Tenants (rendered by internal/render), as the operator's ServiceAccount,
//     with the operator's client QPS/burst and concurrency: raw_s;
//   - operator: run the manager binary as its ServiceAccount, create N Tenants,
//     time until all are Ready at their generation: converge_s; then restart it
//     and count its write requests (restart_writes), force a full resync and
//     count again (resync_writes), delete 100 random children and time their
//     restoration as seen by a watch (drift p50/p99), and read its peak RSS
//     and CPU time from /proc;
//   - class rollout: every Tenant is a member of one TenantClass; one change
//     to it is timed until every Tenant applied it (class_s), against raw
//     applying exactly the objects it changes on the floor's cluster
//     (class_floor_s), with the operator's writes counted;
//   - self-service: BENCH_CLAIMS Tenants each claim one namespace, one at a
//     time, timed from creation to Ready (claim p50/p99), with the
//     operator's writes per claim.
//
// Drift is measured twice: on a quiet operator, and while BENCH_CHURN
// (100) other Tenants are changed over and over; after each restoration the
// bench repairs a copy of the same child itself, at once and with no read
// (the floor a repair has on this server under the same load).
//
// Environment: BENCH_TENANTS (default 100) or BENCH_SWEEP=100,300,1000;
// BENCH_NAMESPACES (3); BENCH_QPS/BENCH_BURST (500/1000);
// BENCH_CONCURRENCY (8); BENCH_DRIFT (100); BENCH_ADMISSION (200 pods per
// namespace for the admission overhead: pod-create latency as a tenant user
// in a guarded namespace against an unguarded one); BENCH_CLAIMS (50); BENCH_REBALANCE (20); BENCH_CHURN (100); BENCH_MEMLIMIT (the container memory limit in bytes the operator is given, 268435456 = 256Mi as the chart sets it; it gives the Go runtime 85%); BENCH_REPORT (file to write the
// markdown report and its SVG plot to; none by default); BENCH_SMOKE=1 fails
// unless restart and resync writes are zero; BENCH_KEEP=1 keeps the work
// directory (the control planes' data, the operator's logs);
// BENCH_OPERATOR_LOG (info: the level the operator logs at, whose
// "Corrected drift" lines the drift phases read).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

type params struct {
	namespaces  int
	qps, burst  int
	concurrency int
	drift       int
	admission   int
	claims      int
	rebalance   int
	churn       int
	binDir      string
	manager     string
	workDir     string
}

func main() {
	ctrl.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	sizes, err := intList(envOr("BENCH_SWEEP", envOr("BENCH_TENANTS", "100")))
	if err != nil {
		return err
	}
	p := params{
		namespaces:  envInt("BENCH_NAMESPACES", 3),
		qps:         envInt("BENCH_QPS", 500),
		burst:       envInt("BENCH_BURST", 1000),
		concurrency: envInt("BENCH_CONCURRENCY", 8),
		drift:       envInt("BENCH_DRIFT", 100),
		admission:   envInt("BENCH_ADMISSION", 200),
		claims:      envInt("BENCH_CLAIMS", 50),
		rebalance:   envInt("BENCH_REBALANCE", 20),
		churn:       envInt("BENCH_CHURN", 100),
		binDir:      envOr("K8S_BIN_DIR", "bin/k8s/1.37.2"),
		manager:     envOr("MANAGER_BIN", "bin/manager"),
	}
	if p.workDir, err = os.MkdirTemp("", "tenantry-bench-"); err != nil {
		return err
	}
	if os.Getenv("BENCH_KEEP") == "" {
		defer func() { _ = os.RemoveAll(p.workDir) }()
	} else {
		progress("keeping the logs and data in %s (BENCH_KEEP)", p.workDir)
	}

	var results []result
	for _, n := range sizes {
		res, err := benchSize(ctx, p, n)
		if err != nil {
			return fmt.Errorf("%d tenants: %w", n, err)
		}
		results = append(results, res)
		fmt.Println(res.summary())
	}
	if path := os.Getenv("BENCH_REPORT"); path != "" {
		if err := writeReport(path, p, results); err != nil {
			return err
		}
		progress("report written to %s", path)
	}
	fmt.Println()
	for _, r := range results {
		fmt.Println(r.summary())
	}
	if os.Getenv("BENCH_SMOKE") == "1" {
		for _, r := range results {
			if r.restartWrites != 0 || r.resyncWrites != 0 {
				return fmt.Errorf("idle writes must be zero: restart_writes=%d resync_writes=%d", r.restartWrites, r.resyncWrites)
			}
			if r.classObjectWrites != r.classChanged {
				return fmt.Errorf("a class rollout must write each changed object once: %d writes for %d changed objects", r.classObjectWrites, r.classChanged)
			}
		}
	}
	return nil
}

// result holds the figures of one size.
type result struct {
	tenants, namespaces, objects int
	rawS, convergeS              float64
	restartWrites, resyncWrites  int
	// restartS: from the restarted process's start until every Tenant
	// was reconciled; restartGets: its reads of single objects meanwhile.
	restartS, restartReadyS float64
	restartGets             int
	driftP50, driftP99      float64 // milliseconds
	driftSamples            int
	// Drift repair while p.churn other Tenants keep changing, and how
	// many changes they made meanwhile.
	churnP50, churnP99 float64
	churnChanges       int
	// The bench's own immediate re-creation of copies of the same children,
	// quiet and under load: the floor of a repair on this server.
	driftFloor, churnFloor floorStats
	// Where the repairs' time went, by the operator's log.
	driftAttr, churnAttr attribution
	// The deletions not restored within driftTimeout, quiet and under load.
	driftTimeouts, churnTimeouts int
	// Claims: creation to Ready, and the operator's writes per claim.
	claimP50, claimP99, claimWrites float64
	claimSamples                    int
	// claimWritesBy: the API server's writes per claim, by verb and resource.
	claimWritesBy map[string]float64
	// Tenant-wide quota: refused while the tenant has room → admitted,
	// and the operator's writes per 100 admitted pods.
	rebalanceP50, rebalanceP99, rebalanceWrites float64
	rebalanceSamples                            int
	rssMB, cpuS                                 float64
	// What the API server served while the floor applied and while the
	// operator converged (the Tenants' creation included in both).
	floorLoad, operatorLoad apiLoad
	// The class rollout: the objects one class change changes, the time to
	// apply just those raw (floor) and until every Tenant applied it, and the
	// operator's writes meanwhile (all, and quota applies).
	classChanged                   int
	classFloorS, classS            float64
	classWrites, classObjectWrites int
	classDryRuns                   int
	// Pod-create latency in a guarded namespace and an unguarded one.
	admission admissionLatency
}

func (r result) classRatio() float64 { return r.classS / r.classFloorS }

func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r result) ratio() float64 { return r.convergeS / r.rawS }

func (r result) summary() string {
	a := r.admission
	return fmt.Sprintf("bench: tenants=%d namespaces=%d objects=%d raw_s=%.1f converge_s=%.1f ratio=%.2f restart_s=%.1f restart_gets=%d restart_writes=%d resync_writes=%d drift_p50_ms=%.0f drift_p99_ms=%.0f drift_churn_p50_ms=%.0f drift_churn_p99_ms=%.0f drift_floor_p99_ms=%.0f drift_churn_floor_p99_ms=%.0f drift_churn_ratio_p99=%.2f drift_timeouts=%d rss_mb=%.0f cpu_s=%.1f"+
		" class_changed=%d class_floor_s=%.1f class_s=%.1f class_ratio=%.2f class_object_writes=%d class_writes=%d class_dry_runs=%d"+
		" pod_guarded_p50_ms=%.1f pod_guarded_p99_ms=%.1f pod_plain_p50_ms=%.1f pod_plain_p99_ms=%.1f pod_ratio_p50=%.2f pod_validating_only_ratio_p50=%.2f"+
		" claim_p50_ms=%.0f claim_p99_ms=%.0f claim_writes=%.1f"+
		" rebalance_p50_ms=%.0f rebalance_p99_ms=%.0f rebalance_writes_per_100_pods=%.0f",
		r.tenants, r.namespaces, r.objects, r.rawS, r.convergeS, r.ratio(), r.restartS, r.restartGets, r.restartWrites, r.resyncWrites, r.driftP50, r.driftP99, r.churnP50, r.churnP99, r.driftFloor.p99, r.churnFloor.p99, ratioOf(r.churnP99, r.churnFloor.p99), r.driftTimeouts+r.churnTimeouts, r.rssMB, r.cpuS,
		r.classChanged, r.classFloorS, r.classS, r.classRatio(), r.classObjectWrites, r.classWrites, r.classDryRuns,
		a.guardedP50, a.guardedP99, a.plainP50, a.plainP99, a.ratio(), a.validatingRatio(),
		r.claimP50, r.claimP99, r.claimWrites,
		r.rebalanceP50, r.rebalanceP99, r.rebalanceWrites)
}

func progress(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	v, err := strconv.Atoi(os.Getenv(key))
	if err != nil || v <= 0 {
		return def
	}
	return v
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
