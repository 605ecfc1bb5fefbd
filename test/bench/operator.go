package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
	"github.com/tenantry/tenantry/internal/memlimit"
)

// shippedResync is the operator's default --resync-period.
const shippedResync = 10 * time.Minute

func operatorArgs(p params, resync time.Duration) []string {
	args := []string{}
	if os.Getenv("BENCH_PROFILE") != "" {
		args = append(args, "--pprof")
	}
	return append(args,
		fmt.Sprintf("--kube-api-qps=%d", p.qps), fmt.Sprintf("--kube-api-burst=%d", p.burst),
		fmt.Sprintf("--max-concurrent-reconciles=%d", p.concurrency),
		"--resync-period="+resync.String(),
		// Info: the operator logs each correction with its timing, which
		// the drift phases read back; nanosecond timestamps place it on the
		// bench's clock.
		"--zap-log-level="+envOr("BENCH_OPERATOR_LOG", "info"), "--zap-time-encoding=rfc3339nano",
	)
}

// operatorEnv is what the chart gives the operator's container: its
// memory limit (values.yaml: 256Mi) in TENANTRY_MEMORY_LIMIT, of which it
// gives the Go runtime 85%; BENCH_MEMLIMIT (bytes) to change it.
func operatorEnv() []string {
	return []string{memlimit.Env + "=" + envOr("BENCH_MEMLIMIT", "268435456")}
}

func saveProfile(ctx context.Context, op *localcluster.Operator, profile, path string) error {
	url := strings.TrimSuffix(op.MetricsURL, "/metrics") + "/debug/pprof/" + profile
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	progress("profile written to %s", path)
	return os.WriteFile(path, data, 0o644)
}

func operatorRun(ctx context.Context, p params, n int, res *result) error {
	c, err := startCluster(ctx, p, fmt.Sprintf("operator-%d", n))
	if err != nil {
		return err
	}
	defer func() { _ = c.Stop() }()
	admin, _, err := clientFor(c, p, false)
	if err != nil {
		return err
	}
	opDir := filepath.Join(p.workDir, fmt.Sprintf("operator-%d", n), "operator")
	op, err := c.StartOperator(ctx, localcluster.OperatorOptions{Binary: p.manager, Namespace: operatorNamespace,
		ServiceAccount: operatorSA, Dir: opDir, Args: operatorArgs(p, shippedResync), Env: operatorEnv()})
	if err != nil {
		return err
	}
	stats := &procStats{}
	defer func() { _ = op.Stop() }()

	if err := admin.Create(ctx, benchClass(nodePortsBefore)); err != nil {
		return err
	}
	progress("operator: creating %d Tenants", n)
	loadBefore, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	start := time.Now()
	if dir := os.Getenv("BENCH_PROFILE"); dir != "" {
		go func() {
			if err := saveProfile(ctx, op, "profile?seconds=20", filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", n))); err != nil {
				progress("cpu profile: %v", err)
			}
		}()
	}
	err = forEach(ctx, n, p.concurrency, func(i int) error {
		return admin.Create(ctx, benchTenant(i, p.namespaces))
	}, func(int) {})
	if err != nil {
		return err
	}
	if err := waitAllReady(ctx, c, n, start); err != nil {
		return err
	}
	res.convergeS = time.Since(start).Seconds()
	progress("operator: %d Tenants Ready in %.1f s", n, res.convergeS)
	loadAfter, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	res.operatorLoad = loadAfter.since(loadBefore)
	progress("operator: API server served %s", res.operatorLoad.summary(n))
	if gets, getsBy, err := operatorGets(ctx, op); err == nil {
		progress("operator: of them the operator's reads of single objects: %d %v", gets, getsBy)
	}
	stats.sample(op)
	progress("operator: peak RSS while converging %.0f MB", stats.peakRSSMB)
	if err := operatorRollout(ctx, c, admin, op, n, res); err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_PROFILE"); dir != "" {
		if err := saveProfile(ctx, op, "heap", filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n))); err != nil {
			return err
		}
	}
	if err := op.Stop(); err != nil {
		return err
	}

	// Restart with a short resync period: first the start-up pass over every
	// Tenant, then one full periodic resync.
	resync := 20 * time.Second
	progress("operator: restarting; counting write requests on start-up and one full resync (%s)", resync)
	restartLoad, err := apiServerLoad(ctx, c)
	if err != nil {
		return err
	}
	launched := time.Now()
	op, err = c.StartOperator(ctx, localcluster.OperatorOptions{Binary: p.manager, Namespace: operatorNamespace,
		ServiceAccount: operatorSA, Dir: opDir, Args: operatorArgs(p, resync), Env: operatorEnv()})
	if err != nil {
		return err
	}
	started := time.Now()
	if err := waitReconciles(ctx, op, float64(n)); err != nil {
		return err
	}
	res.restartS, res.restartReadyS = time.Since(launched).Seconds(), time.Since(started).Seconds()
	if after, err := apiServerLoad(ctx, c); err == nil {
		progress("operator: restart: API server served (all clients) %s", after.since(restartLoad).summary(n))
	}
	gets, getsBy, err := operatorGets(ctx, op)
	if err != nil {
		return err
	}
	res.restartGets = gets
	progress("operator: restart: the operator's reads of single objects: %d %v", gets, getsBy)
	if res.restartWrites, err = writeRequests(ctx, op); err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_PROFILE"); dir != "" {
		if err := saveProfile(ctx, op, "heap", filepath.Join(dir, fmt.Sprintf("heap-restart-%d.pprof", n))); err != nil {
			return err
		}
	}
	progress("operator: start-up pass done %.1f s after the process started (%.1f s after it was ready) with %d write requests and %d reads of single objects",
		res.restartS, res.restartReadyS, res.restartWrites, res.restartGets)
	afterStart, err := reconcileTotal(ctx, op)
	if err != nil {
		return err
	}
	// Every Tenant is requeued at resync ±10%: wait past that, then for n more
	// reconciles and a quiet queue.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(started.Add(resync * 12 / 10))):
	}
	if err := waitReconciles(ctx, op, afterStart+float64(n)); err != nil {
		return err
	}
	total, err := writeRequests(ctx, op)
	if err != nil {
		return err
	}
	res.resyncWrites = total - res.restartWrites
	progress("operator: full resync done with %d write requests", res.resyncWrites)

	// The phases that follow time what users meet, so they run on an
	// operator as shipped: a resync period of 20 s re-checks every Tenant
	// three times a minute, a load no cluster runs, and its passes took the
	// workers and the API server from the repairs measured next.
	stats.sample(op)
	if err := op.Stop(); err != nil {
		return err
	}
	op, err = c.StartOperator(ctx, localcluster.OperatorOptions{Binary: p.manager, Namespace: operatorNamespace,
		ServiceAccount: operatorSA, Dir: opDir, Args: operatorArgs(p, shippedResync), Env: operatorEnv()})
	if err != nil {
		return err
	}
	if err := waitReconciles(ctx, op, float64(n)); err != nil {
		return err
	}
	progress("operator: restarted with the shipped resync period (%s) for the phases that follow", shippedResync)

	if err := measureDrift(ctx, c, admin, op, p, n, 0, res); err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_PROFILE"); dir != "" {
		go func() {
			if err := saveProfile(ctx, op, "profile?seconds=20", filepath.Join(dir, fmt.Sprintf("cpu-churn-%d.pprof", n))); err != nil {
				progress("cpu profile: %v", err)
			}
		}()
	}
	if err := measureDrift(ctx, c, admin, op, p, n, p.churn, res); err != nil {
		return err
	}
	if res.admission, err = measureAdmission(ctx, c, admin, p.admission); err != nil {
		return err
	}
	if err := measureClaims(ctx, c, admin, op, p, n, res); err != nil {
		return err
	}
	if err := measureRebalance(ctx, c, admin, op, p, n, res); err != nil {
		return err
	}
	restartPeak := stats.sample(op)
	progress("operator: peak RSS of the restarted operator %.0f MB", restartPeak)
	res.rssMB, res.cpuS = stats.peakRSSMB, stats.cpuS
	return nil
}

func waitAllReady(ctx context.Context, c *localcluster.Cluster, n int, start time.Time) error {
	cl, err := client.NewWithWatch(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	ready := map[string]bool{}
	count := func() int {
		k := 0
		for _, r := range ready {
			if r {
				k++
			}
		}
		return k
	}
	lastReport := time.Now()
	for {
		// ResourceVersion "0": the current state first (as ADDED events), then changes.
		w, err := cl.Watch(ctx, &tenantryv1alpha1.TenantList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}})
		if err != nil {
			return err
		}
		for ev := range w.ResultChan() {
			t, ok := ev.Object.(*tenantryv1alpha1.Tenant)
			if !ok {
				continue // an error event (the watch expired): watch again
			}
			ready[t.Name] = ev.Type != watch.Deleted && isReadyAtGeneration(t)
			if count() == n {
				w.Stop()
				return nil
			}
			if time.Since(lastReport) > 5*time.Second {
				el := time.Since(start).Seconds()
				progress("operator: %d/%d Tenants Ready after %.0f s (%.1f/s)", count(), n, el, float64(count())/el)
				lastReport = time.Now()
			}
		}
		w.Stop()
		select {
		case <-ctx.Done():
			return errors.New("the Tenants were not Ready within 30 minutes")
		case <-time.After(time.Second): // then watch again
		}
	}
}

func isReadyAtGeneration(t *tenantryv1alpha1.Tenant) bool {
	for _, c := range t.Status.Conditions {
		if c.Type == tenantryv1alpha1.ConditionReady && c.Status == metav1.ConditionTrue && t.Status.ObservedGeneration == t.Generation {
			return true
		}
	}
	return false
}
