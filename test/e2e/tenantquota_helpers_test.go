package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// quotaPod is a pod Pod Security restricted admits, asking for 100m CPU.
func quotaPod(ns, name string) *corev1.Pod {
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1", SecurityContext: sc,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}},
	}}
}

// shareSums are, per resource, the sums over the tenant's quotas of the
// most each namespace may admit up to (spec.hard, or status.hard while the
// quota controller has not copied a new spec yet), read in one list: one
// consistent moment of the API server.
func shareSums(ctx context.Context, tenant, quota string) (map[corev1.ResourceName]int64, error) {
	var list corev1.ResourceQuotaList
	if err := admin.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant}); err != nil {
		return nil, err
	}
	out := map[corev1.ResourceName]int64{}
	for _, rq := range list.Items {
		if rq.Name != "tenantry-"+quota {
			continue
		}
		for name, spec := range rq.Spec.Hard {
			status := rq.Status.Hard[name]
			out[name] += max(spec.MilliValue(), status.MilliValue())
		}
	}
	return out, nil
}

// overcharged is by how many pods the shares' status.used exceeds the pods
// in the namespaces: quota admission charges a create before it is stored,
// and a create that fails after that (a storage timeout the client retries)
// stays charged until the quota controller recounts (kubernetes#119593).
// That headroom is lost to the tenant meanwhile, as with any ResourceQuota.
func overcharged(ctx context.Context, tenant string, nss []string) int {
	var list corev1.ResourceQuotaList
	Expect(admin.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant})).To(Succeed())
	var used int64
	for _, rq := range list.Items {
		if rq.Name == "tenantry-compute" {
			used += rq.Status.Used.Pods().Value()
		}
	}
	return max(0, int(used)-podsIn(ctx, nss))
}

// podsIn counts the pods in the namespaces.
func podsIn(ctx context.Context, nss []string) int {
	n := 0
	for _, ns := range nss {
		var pods corev1.PodList
		Expect(admin.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
		n += len(pods.Items)
	}
	return n
}

// race has workers create pods as the owner, each in a namespace pick
// chooses, retrying what quota refuses, until the tenant holds want pods or
// the deadline passes; a sampler checks the shares meanwhile. It returns
// the pods admitted and every moment the shares exceeded the total.
func race(ctx context.Context, own client.Client, tenant string, total map[corev1.ResourceName]int64,
	workers, want int, pick func(worker int) string, round int) (admitted int64, violations []string, undercounts int) {
	var count atomic.Int64
	var mu sync.Mutex
	refusals := map[string]int{}
	done := make(chan struct{})
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	lowered := watchUndercounts(ctx, tenant, done, &wg)
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			sums, err := shareSums(ctx, tenant, "compute")
			if err != nil {
				continue
			}
			for name, limit := range total {
				if sums[name] > limit {
					mu.Lock()
					violations = append(violations, fmt.Sprintf("%s: shares add up to %dm, over %dm", name, sums[name], limit))
					mu.Unlock()
				}
			}
		}
	})
	var creators sync.WaitGroup
	for w := range workers {
		creators.Go(func() {
			defer GinkgoRecover()
			for i := 0; count.Load() < int64(want) && time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				err := own.Create(ctx, quotaPod(pick(w), name))
				switch {
				case err == nil:
					count.Add(1)
				case strings.Contains(err.Error(), "exceeded quota"),
					// A share the quota controller is syncing that moment.
					strings.Contains(err.Error(), "status unknown for quota"),
					// Quota admission lost the race to update the share's
					// usage with the other workers: nothing was admitted.
					apierrors.IsConflict(err):
					mu.Lock()
					refusals[refusalKind(err, name)]++
					mu.Unlock()
					time.Sleep(time.Duration(10+rand.IntN(30)) * time.Millisecond)
				default:
					Expect(err).NotTo(HaveOccurred(), "worker %d, attempt %d", w, i)
				}
			}
		})
	}
	creators.Wait()
	close(done)
	wg.Wait()
	GinkgoWriter.Printf("round %d refusals: %v\n", round, refusals)
	return count.Load(), violations, int(lowered.Load())
}

// refusalKind is a refusal's reason with its message cut before the
// figures that differ between attempts.
func refusalKind(err error, pod string) string {
	msg := strings.ReplaceAll(err.Error(), pod, "")
	if i := strings.Index(msg, ", requested"); i > 0 {
		msg = msg[:i]
	}
	return string(apierrors.ReasonForError(err)) + ": " + msg
}

// watchUndercounts counts, until done, the pods by which a share's
// status.used went down while no pod was deleted: kube-controller-manager recomputing
// usage from its pod cache, which can miss a pod admitted a moment before
// (kubernetes#123434), so that admission lets one more through. Every
// ResourceQuota has this race; moving shares makes the controller
// recompute more often. A watch sees every version, a poll would not.
func watchUndercounts(ctx context.Context, tenant string, done <-chan struct{}, wg *sync.WaitGroup) *atomic.Int64 {
	var lowered atomic.Int64
	cl, err := client.NewWithWatch(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	w, err := cl.Watch(ctx, &corev1.ResourceQuotaList{}, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant})
	Expect(err).NotTo(HaveOccurred())
	wg.Go(func() {
		defer w.Stop()
		used := map[string]int64{}
		for {
			select {
			case <-done:
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				rq, isQuota := ev.Object.(*corev1.ResourceQuota)
				if !isQuota || rq.Name != "tenantry-compute" {
					continue
				}
				pods := rq.Status.Used[corev1.ResourcePods]
				if before, seen := used[rq.Namespace]; seen && pods.Value() < before {
					lowered.Add(before - pods.Value())
				}
				used[rq.Namespace] = pods.Value()
			}
		}
	})
	return &lowered
}

// quotaStatus is the Tenant's status.quotas item named compute.
func quotaStatus(ctx context.Context, tenant string) tenantryv1alpha1.TenantQuotaStatus {
	tn := &tenantryv1alpha1.Tenant{}
	Expect(admin.Get(ctx, client.ObjectKey{Name: tenant}, tn)).To(Succeed())
	for _, q := range tn.Status.Quotas {
		if q.Name == "compute" {
			return q
		}
	}
	return tenantryv1alpha1.TenantQuotaStatus{}
}

// deletePods deletes every pod in the namespaces and waits until the
// tenant-wide usage is back to zero (the quota controller replenishes it).
func deletePods(ctx context.Context, tenant string, nss []string) {
	for _, ns := range nss {
		Expect(admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0))).To(Succeed())
	}
	Eventually(func(g Gomega) {
		used := quotaStatus(ctx, tenant).Used[corev1.ResourcePods]
		g.Expect(used.Value()).To(BeZero())
	}).WithContext(ctx).Should(Succeed())
}

// quotaDump is the tenant's quotas, for failure messages.
func quotaDump(ctx context.Context, tenant string) string {
	var list corev1.ResourceQuotaList
	if err := admin.List(ctx, &list, client.MatchingLabels{tenantryv1alpha1.TenantLabel: tenant}); err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, rq := range list.Items {
		fmt.Fprintf(&b, "\n%s/%s rv %s: spec %v status.hard %v used %v", rq.Namespace, rq.Name, rq.ResourceVersion,
			rq.Spec.Hard, rq.Status.Hard, rq.Status.Used)
	}
	return b.String()
}

// burstClientAs is clientAs without client-side throttling: the workers of
// a race must reach the API server together.
func burstClientAs(user string) client.Client {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}
