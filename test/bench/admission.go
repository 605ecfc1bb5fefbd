package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// Admission overhead: the same pod created by the same tenant user, one
// after the other, in a namespace of a Tenant with every guardrail (the
// guardrail policies and the node-selector mutation evaluate) and in a
// namespace no Tenant owns (none of them match), with the same RBAC and Pod
// Security level. Interleaved, so that both see the machine alike.
const (
	guardedTenant = "bench-guarded"
	guardedNS     = "bench-guarded-a"
	plainNS       = "bench-plain"
	benchUser     = "bench-dev"
	benchGroup    = "bench-guarded-admins"
)

// admissionLatency holds pod-create latencies in milliseconds.
type admissionLatency struct {
	guardedP50, guardedP99, plainP50, plainP99 float64
	// With the node-selector MutatingAdmissionPolicy unbound.
	validatingP50, validatingPlainP50 float64
	samples                           int
}

// ratio is the guarded p50 over the unguarded one; validatingRatio the
// same with the mutation unbound.
func (a admissionLatency) ratio() float64 { return safeRatio(a.guardedP50, a.plainP50) }

func (a admissionLatency) validatingRatio() float64 {
	return safeRatio(a.validatingP50, a.validatingPlainP50)
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func guardedBenchTenant() *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: guardedTenant},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:        []tenantryv1alpha1.Subject{{Kind: "Group", Name: benchGroup, APIGroup: rbacv1.GroupName}},
			Namespaces:    []tenantryv1alpha1.TenantNamespace{{Name: guardedNS}},
			NetworkPolicy: &tenantryv1alpha1.TenantNetworkPolicy{Egress: tenantryv1alpha1.NetworkEgressTenant},
			Workloads: &tenantryv1alpha1.Workloads{
				Registries:      []tenantryv1alpha1.RegistryPrefix{"ghcr.io/team-a/", "registry.example.com/"},
				ImagePullPolicy: tenantryv1alpha1.ImagePullAlways,
				StorageClasses:  []tenantryv1alpha1.ClassName{"standard"},
				PriorityClasses: []tenantryv1alpha1.ClassName{"tenant-normal"},
				RuntimeClasses:  []tenantryv1alpha1.ClassName{"gvisor"},
				IngressClasses:  []tenantryv1alpha1.ClassName{"nginx"},
				Hostnames:       []tenantryv1alpha1.Hostname{"bench.example.com"},
				NodeSelector:    map[string]tenantryv1alpha1.LabelValue{"pool": "bench"},
				Tolerations:     []tenantryv1alpha1.Toleration{{Key: "pool", Operator: "Equal", Value: "bench", Effect: "NoSchedule"}},
			},
		},
	}
}

// benchPod passes the guardrails and Pod Security restricted.
func benchPod(ns, name string) *corev1.Pod {
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		SecurityContext:   &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		PriorityClassName: "tenant-normal",
		RuntimeClassName:  ptr.To("gvisor"),
		NodeSelector:      map[string]string{"pool": "bench"},
		Tolerations:       []corev1.Toleration{{Key: "pool", Operator: corev1.TolerationOpEqual, Value: "bench", Effect: corev1.TaintEffectNoSchedule}},
		InitContainers:    []corev1.Container{{Name: "init", Image: "registry.example.com/init:1", ImagePullPolicy: corev1.PullAlways, SecurityContext: sc}},
		Containers:        []corev1.Container{{Name: "app", Image: "ghcr.io/team-a/app:1", ImagePullPolicy: corev1.PullAlways, SecurityContext: sc}},
	}}
}

// measureAdmission creates samples pods in each namespace as the tenant
// user and returns the latency percentiles.
func measureAdmission(ctx context.Context, c *localcluster.Cluster, admin client.Client, samples int) (admissionLatency, error) {
	var out admissionLatency
	setup := []client.Object{
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "tenant-normal"}, Value: 100},
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"},
		guardedBenchTenant(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plainNS, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: plainNS, Name: "dev"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: benchGroup}}},
	}
	for _, o := range setup {
		if err := admin.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return out, fmt.Errorf("admission setup: %w", err)
		}
	}
	if err := waitTenantReady(ctx, admin, guardedTenant); err != nil {
		return out, err
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.Impersonate = rest.ImpersonationConfig{UserName: benchUser, Groups: []string{benchGroup, "system:authenticated"}}
	user, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return out, err
	}
	guarded, plain, err := podLatencies(ctx, user, samples, "bench")
	if err != nil {
		return out, err
	}
	out = admissionLatency{samples: samples,
		guardedP50: percentile(guarded, 0.50), guardedP99: percentile(guarded, 0.99),
		plainP50: percentile(plain, 0.50), plainP99: percentile(plain, 0.99)}
	progress("admission: pod create p50/p99 %.1f/%.1f ms guarded, %.1f/%.1f ms unguarded",
		out.guardedP50, out.guardedP99, out.plainP50, out.plainP99)
	// The same again with the node-selector mutation unbound, to tell its
	// share of the overhead from the validating policy's.
	if err := withoutMutation(ctx, admin, func() error {
		g, p, err := podLatencies(ctx, user, samples, "bench-v")
		out.validatingP50, out.validatingPlainP50 = percentile(g, 0.50), percentile(p, 0.50)
		return err
	}); err != nil {
		return out, err
	}
	progress("admission: without the mutation, pod create p50 %.1f ms guarded, %.1f ms unguarded",
		out.validatingP50, out.validatingPlainP50)
	for _, ns := range []string{guardedNS, plainNS} {
		if err := admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0)); err != nil {
			return out, err
		}
	}
	return out, nil
}

func waitTenantReady(ctx context.Context, cl client.Client, name string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		t := &tenantryv1alpha1.Tenant{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, t); err == nil && isReadyAtGeneration(t) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("tenant %s not Ready", name)
}

// podLatencies creates samples pods in the guarded and the plain namespace,
// interleaved, and returns their sorted latencies in milliseconds. A few
// unmeasured rounds first: informers, RBAC caches and compiled policies
// warm up.
func podLatencies(ctx context.Context, user client.Client, samples int, prefix string) (guarded, plain []float64, err error) {
	progress("admission: creating %d pods in a guarded and %d in an unguarded namespace, interleaved", samples, samples)
	for i := range samples + 10 {
		for _, ns := range []string{guardedNS, plainNS} {
			start := time.Now()
			if err := user.Create(ctx, benchPod(ns, fmt.Sprintf("%s-%d", prefix, i))); err != nil {
				return nil, nil, fmt.Errorf("create a pod in %s: %w", ns, err)
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			if i < 10 {
				continue
			}
			if ns == guardedNS {
				guarded = append(guarded, ms)
			} else {
				plain = append(plain, ms)
			}
		}
	}
	slices.Sort(guarded)
	slices.Sort(plain)
	return guarded, plain, nil
}

// withoutMutation runs f with the node-selector MutatingAdmissionPolicy's
// binding deleted, and puts it back.
func withoutMutation(ctx context.Context, admin client.Client, f func() error) error {
	binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
	if err := admin.Get(ctx, client.ObjectKey{Name: "tenantry-node-selector"}, binding); err != nil {
		return fmt.Errorf("read the node-selector binding: %w", err)
	}
	if err := admin.Delete(ctx, binding); err != nil {
		return err
	}
	// The API server picks up policy changes in a periodic refresh.
	time.Sleep(3 * time.Second)
	err := f()
	restored := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: binding.Name, Labels: binding.Labels}, Spec: binding.Spec}
	if cerr := admin.Create(ctx, restored); cerr != nil {
		return errors.Join(err, fmt.Errorf("restore the node-selector binding: %w", cerr))
	}
	time.Sleep(3 * time.Second)
	return err
}
