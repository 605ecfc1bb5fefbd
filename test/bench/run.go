package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/localcluster"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

const (
	operatorNamespace = localcluster.OperatorNamespace
	operatorSA        = localcluster.OperatorServiceAccount
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
}

// benchTenant has the full set of children: 2 quotas, a limit range, owner +
// 1 extra binding, isolation + 1 extra policy, in each of its namespaces.
func benchTenant(i, namespaces int) *tenantryv1alpha1.Tenant {
	name := fmt.Sprintf("bench-%04d", i)
	t := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-admins", APIGroup: rbacv1.GroupName}},
			RoleBindings: []tenantryv1alpha1.TenantRoleBinding{{Name: "auditors", ClusterRole: "view",
				Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-auditors", APIGroup: rbacv1.GroupName}}}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				{Name: "compute", Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("4"), "requests.memory": resource.MustParse("8Gi"), "pods": resource.MustParse("40")}},
				{Name: "services", Hard: corev1.ResourceList{"services.nodeports": resource.MustParse("0")}},
			},
			LimitRange: &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
				Default: corev1.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("512Mi")}}}},
			NetworkPolicy: &tenantryv1alpha1.TenantNetworkPolicy{Policies: []tenantryv1alpha1.TenantExtraNetworkPolicy{{
				Name: "deny-egress", Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}}},
		},
	}
	for j := range namespaces {
		t.Spec.Namespaces = append(t.Spec.Namespaces, tenantryv1alpha1.TenantNamespace{Name: fmt.Sprintf("%s-%d", name, j)})
	}
	return t
}

// startCluster starts a fresh control plane with config/default installed.
func startCluster(ctx context.Context, p params, label string) (*localcluster.Cluster, error) {
	progress("%s: starting a fresh local control plane", label)
	dir := filepath.Join(p.workDir, label)
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: p.binDir, KubeconfigPath: filepath.Join(dir, "kubeconfig")})
	if err != nil {
		return nil, err
	}
	if err := c.InstallKustomization(ctx, "config/default"); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// clientFor returns a client with the operator's rate limits; as the
// operator's ServiceAccount when impersonate is set.
func clientFor(c *localcluster.Cluster, p params, impersonate bool) (client.Client, *rest.Config, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = float32(p.qps), p.burst
	if impersonate {
		user, groups := localcluster.ServiceAccountUser(operatorNamespace, operatorSA)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	return cl, cfg, err
}

func benchSize(ctx context.Context, p params, n int) (result, error) {
	res := result{tenants: n, namespaces: n * p.namespaces}
	objects := len(desired(benchTenant(0, p.namespaces)))
	res.objects = n * objects

	var err error
	if res.rawS, err = floor(ctx, p, n, &res); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	if err := operatorRun(ctx, p, n, &res); err != nil {
		return res, fmt.Errorf("operator: %w", err)
	}
	return res, nil
}

// desired are the objects the operator's planner makes for a new Tenant.
func desired(t *tenantryv1alpha1.Tenant) []render.Object {
	return plan.Initial(effective.Of(t, effective.Options{DefaultOwnerClusterRole: "admin"}))
}

// floor applies what Tenantry would create for n Tenants, each Tenant's
// objects in order (namespaces first) as the operator does, with as many
// Tenants in flight as the operator's concurrency.
func floor(ctx context.Context, p params, n int, res *result) (float64, error) {
	c, err := startCluster(ctx, p, fmt.Sprintf("floor-%d", n))
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Stop() }()
	admin, _, err := clientFor(c, p, false)
	if err != nil {
		return 0, err
	}
	op, _, err := clientFor(c, p, true)
	if err != nil {
		return 0, err
	}
	progress("floor: applying the objects of %d Tenants (concurrency %d, qps %d)", n, p.concurrency, p.qps)
	loadBefore, err := apiServerLoad(ctx, c)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = forEach(ctx, n, p.concurrency, func(i int) error {
		t := benchTenant(i, p.namespaces)
		// The Tenant exists in the operator's run too: create it, then its objects
		// (which need its UID for their ownerReferences).
		if err := admin.Create(ctx, t); err != nil {
			return err
		}
		for _, obj := range desired(t) {
			if err := op.Apply(ctx, obj.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
				return fmt.Errorf("apply %s: %w", obj.Key(), err)
			}
		}
		return nil
	}, func(done int) { progress("floor: %d/%d tenants applied", done, n) })
	if err != nil {
		return 0, err
	}
	raw := time.Since(start).Seconds()
	progress("floor: %.1f s", raw)
	loadAfter, err := apiServerLoad(ctx, c)
	if err != nil {
		return 0, err
	}
	res.floorLoad = loadAfter.since(loadBefore)
	progress("floor: API server served %s", res.floorLoad.summary(n))
	return raw, nil
}

// forEach runs fn for 0..n-1 with the given concurrency, reporting progress.
func forEach(ctx context.Context, n, concurrency int, fn func(i int) error, report func(done int)) error {
	work := make(chan int)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				done++
				if done%max(1, n/5) == 0 {
					report(done)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

func operatorArgs(p params, resync time.Duration) []string {
	args := []string{}
	if os.Getenv("BENCH_PROFILE") != "" {
		args = append(args, "--pprof")
	}
	return append(args,
		fmt.Sprintf("--kube-api-qps=%d", p.qps), fmt.Sprintf("--kube-api-burst=%d", p.burst),
		fmt.Sprintf("--max-concurrent-reconciles=%d", p.concurrency),
		"--resync-period="+resync.String(), "--zap-log-level=error",
	)
}

// saveProfile writes one of the operator's pprof profiles (BENCH_PROFILE=dir).
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
		ServiceAccount: operatorSA, Dir: opDir, Args: operatorArgs(p, 10*time.Minute)})
	if err != nil {
		return err
	}
	stats := &procStats{}
	defer func() { _ = op.Stop() }()

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
	stats.sample(op)
	progress("operator: peak RSS while converging %.0f MB", stats.peakRSSMB)
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
	op, err = c.StartOperator(ctx, localcluster.OperatorOptions{Binary: p.manager, Namespace: operatorNamespace,
		ServiceAccount: operatorSA, Dir: opDir, Args: operatorArgs(p, resync)})
	if err != nil {
		return err
	}
	started := time.Now()
	if err := waitReconciles(ctx, op, float64(n)); err != nil {
		return err
	}
	if res.restartWrites, err = writeRequests(ctx, op); err != nil {
		return err
	}
	if dir := os.Getenv("BENCH_PROFILE"); dir != "" {
		if err := saveProfile(ctx, op, "heap", filepath.Join(dir, fmt.Sprintf("heap-restart-%d.pprof", n))); err != nil {
			return err
		}
	}
	progress("operator: start-up pass done in %.1f s with %d write requests", time.Since(started).Seconds(), res.restartWrites)
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

	if err := measureDrift(ctx, c, admin, p, n, res); err != nil {
		return err
	}
	if res.admission, err = measureAdmission(ctx, c, admin, p.admission); err != nil {
		return err
	}
	restartPeak := stats.sample(op)
	progress("operator: peak RSS of the restarted operator %.0f MB", restartPeak)
	res.rssMB, res.cpuS = stats.peakRSSMB, stats.cpuS
	return nil
}

// waitAllReady watches the Tenants until every one is Ready at its
// generation. A watch, not polling: listing 1000 Tenants with their status
// four times a second cost the API server 16 s of request time during the
// operator's convergence, work the floor does not pay.
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

// scrape reads the operator's metrics.
func scrape(ctx context.Context, op *localcluster.Operator) (map[string]*dto.MetricFamily, error) {
	text, err := op.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(strings.NewReader(text))
}

// writeRequests is the operator's POST/PUT/PATCH/DELETE request count, from
// client-go's own rest_client_requests_total.
func writeRequests(ctx context.Context, op *localcluster.Operator) (int, error) {
	families, err := scrape(ctx, op)
	if err != nil {
		return 0, err
	}
	total := 0.0
	if f := families["rest_client_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && slices.Contains([]string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, l.GetValue()) {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(total), nil
}

func reconcileTotal(ctx context.Context, op *localcluster.Operator) (float64, error) {
	families, err := scrape(ctx, op)
	if err != nil {
		return 0, err
	}
	var total float64
	if f := families["controller_runtime_reconcile_total"]; f != nil {
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total, nil
}

// waitReconciles waits until the operator has done at least want reconciles
// and has nothing queued or in flight.
func waitReconciles(ctx context.Context, op *localcluster.Operator, want float64) error {
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		families, err := scrape(ctx, op)
		if err != nil {
			return err
		}
		var total, depth, active float64
		if f := families["controller_runtime_reconcile_total"]; f != nil {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
		if f := families["workqueue_depth"]; f != nil {
			for _, m := range f.GetMetric() {
				depth += m.GetGauge().GetValue()
			}
		}
		if f := families["controller_runtime_active_workers"]; f != nil {
			for _, m := range f.GetMetric() {
				active += m.GetGauge().GetValue()
			}
		}
		if total >= want && depth == 0 && active == 0 {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.New("the operator did not settle")
}

// measureDrift deletes random managed children one by one and times, with a
// watch, how long each takes to come back.
func measureDrift(ctx context.Context, c *localcluster.Cluster, admin client.Client, p params, n int, res *result) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	type kindWatch struct {
		name  string
		watch func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
		obj   func() client.Object
	}
	kinds := []kindWatch{
		{"tenantry-compute", cs.CoreV1().ResourceQuotas("").Watch, func() client.Object { return &corev1.ResourceQuota{} }},
		{"tenantry-defaults", cs.CoreV1().LimitRanges("").Watch, func() client.Object { return &corev1.LimitRange{} }},
		{"tenantry-owner", cs.RbacV1().RoleBindings("").Watch, func() client.Object { return &rbacv1.RoleBinding{} }},
		{"tenantry-isolation", cs.NetworkingV1().NetworkPolicies("").Watch, func() client.Object { return &networkingv1.NetworkPolicy{} }},
	}
	added := make(chan string, 1024)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, k := range kinds {
		w, err := k.watch(wctx, metav1.ListOptions{LabelSelector: tenantryv1alpha1.TenantLabel, ResourceVersion: "0"})
		if err != nil {
			return err
		}
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					if o, ok := ev.Object.(client.Object); ok {
						added <- o.GetNamespace() + "/" + o.GetName()
					}
				}
			}
		}()
	}
	// Drain the initial ADDED events of existing objects.
	time.Sleep(2 * time.Second)
	for len(added) > 0 {
		<-added
	}
	progress("drift: deleting %d random children and timing their restoration", p.drift)
	var latencies []float64
	for range p.drift {
		k := kinds[rng.IntN(len(kinds))]
		ns := fmt.Sprintf("bench-%04d-%d", rng.IntN(n), rng.IntN(p.namespaces))
		obj := k.obj()
		obj.SetNamespace(ns)
		obj.SetName(k.name)
		start := time.Now()
		if err := admin.Delete(ctx, obj); err != nil {
			return fmt.Errorf("delete %s/%s: %w", ns, k.name, err)
		}
		want := ns + "/" + k.name
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case key := <-added:
				if key == want {
					break wait
				}
			case <-timeout:
				return fmt.Errorf("%s was not restored within 30 s", want)
			}
		}
		latencies = append(latencies, float64(time.Since(start).Microseconds())/1000)
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(latencies)
	res.driftSamples = len(latencies)
	res.driftP50 = percentile(latencies, 0.50)
	res.driftP99 = percentile(latencies, 0.99)
	progress("drift: p50 %.0f ms, p99 %.0f ms over %d deletions", res.driftP50, res.driftP99, len(latencies))
	return nil
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// procStats accumulates the operator's peak RSS and CPU time over its
// processes (it is restarted once).
type procStats struct {
	peakRSSMB float64
	cpuS      float64
	seen      map[int]float64
}

// sample reads VmHWM (peak RSS) and utime+stime of the operator's process,
// and returns that process's peak RSS in MB.
func (s *procStats) sample(op *localcluster.Operator) float64 {
	pid := op.PID()
	if pid == 0 {
		return 0
	}
	var peak float64
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				if kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64); err == nil {
					peak = kb / 1024
					s.peakRSSMB = max(s.peakRSSMB, peak)
				}
			}
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name (which may hold spaces): utime is the 14th field overall.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) > 12 {
			utime, _ := strconv.ParseFloat(fields[11], 64)
			stime, _ := strconv.ParseFloat(fields[12], 64)
			if s.seen == nil {
				s.seen = map[int]float64{}
			}
			cpu := (utime + stime) / 100 // USER_HZ
			s.cpuS += cpu - s.seen[pid]
			s.seen[pid] = cpu
		}
	}
	return peak
}
