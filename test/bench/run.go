package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
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

// benchTenant has the full set of children: 2 quotas (one from its class,
// one tenant-wide), a
// limit range, owner + 1 extra binding, isolation + 1 extra policy, in each
// of its namespaces.
func benchTenant(i, namespaces int) *tenantryv1alpha1.Tenant {
	name := fmt.Sprintf("bench-%04d", i)
	t := &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-admins", APIGroup: rbacv1.GroupName}},
			RoleBindings: []tenantryv1alpha1.TenantRoleBinding{{Name: "auditors", ClusterRole: "view",
				Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-auditors", APIGroup: rbacv1.GroupName}}}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				// For the whole tenant: each namespace holds a share.
				{Name: "compute", Scope: tenantryv1alpha1.QuotaScopeTenant,
					Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("4"), "requests.memory": resource.MustParse("8Gi"), "pods": resource.MustParse("40")}},
			},
			Class: benchClassName, // which adds the "services" quota
			// Its owners may claim a namespace (measureClaims).
			SelfService: &tenantryv1alpha1.SelfService{MaxNamespaces: 1},
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
	if err := admin.Create(ctx, benchClass(nodePortsBefore)); err != nil {
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
	rolloutBefore, err := apiServerLoad(ctx, c)
	if err != nil {
		return 0, err
	}
	if err := floorRollout(ctx, op, p, n, res); err != nil {
		return 0, err
	}
	if after, err := apiServerLoad(ctx, c); err == nil {
		progress("floor: class change: API server served %s", after.since(rolloutBefore).summary(n))
	}
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

// saveProfile writes one of the operator's pprof profiles (BENCH_PROFILE=dir).
// waitAllReady watches the Tenants until every one is Ready at its
// generation. A watch, not polling: listing 1000 Tenants with their status
// four times a second cost the API server 16 s of request time during the
// operator's convergence, work the floor does not pay.
// scrape reads the operator's metrics.
// writeRequests is the operator's POST/PUT/PATCH/DELETE request count, from
// client-go's own rest_client_requests_total.
// waitReconciles waits until the operator has done at least want reconciles
// and has nothing queued or in flight.
// measureDrift deletes random managed children one by one and times, with a
// watch, how long each takes to come back.
// procStats accumulates the operator's peak RSS and CPU time over its
// processes (it is restarted once).
// sample reads VmHWM (peak RSS) and utime+stime of the operator's process,
// and returns that process's peak RSS in MB.
