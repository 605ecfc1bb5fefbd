package e2e

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// guardedTenant is a Tenant with the guardrails: the registries,
// pull policy, classes, hostnames and node pool of the contract, and egress
// isolation with an egress proxy and an ingress controller allowed.
func guardedTenant(name, ns, ownerGroup string) *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: ownerGroup, APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: ns}},
			Workloads: &tenantryv1alpha1.Workloads{
				Registries:      []tenantryv1alpha1.RegistryPrefix{"ghcr.io/team-a/", "registry.example.com/"},
				ImagePullPolicy: tenantryv1alpha1.ImagePullAlways,
				StorageClasses:  []tenantryv1alpha1.ClassName{"standard"},
				PriorityClasses: []tenantryv1alpha1.ClassName{"tenant-normal", "tenant-batch"},
				RuntimeClasses:  []tenantryv1alpha1.ClassName{"gvisor"},
				IngressClasses:  []tenantryv1alpha1.ClassName{"nginx"},
				Hostnames:       []tenantryv1alpha1.Hostname{tenantryv1alpha1.Hostname(name + ".example.com"), tenantryv1alpha1.Hostname("*." + name + ".example.com")},
				NodeSelector:    map[string]tenantryv1alpha1.LabelValue{"pool": tenantryv1alpha1.LabelValue(name)},
				Tolerations: []tenantryv1alpha1.Toleration{{Key: "pool", Operator: tenantryv1alpha1.TolerationOpEqual,
					Value: tenantryv1alpha1.LabelValue(name), Effect: "NoSchedule"}},
			},
			NetworkPolicy: &tenantryv1alpha1.TenantNetworkPolicy{
				Isolation: tenantryv1alpha1.NetworkIsolationTenant,
				Egress:    tenantryv1alpha1.NetworkEgressTenant,
				AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{corev1.LabelMetadataName: "ingress-nginx"}}}},
				AllowEgressTo: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{corev1.LabelMetadataName: "egress-proxy"}}}},
			},
		},
	}
}

// guardrailClasses creates the PriorityClasses and RuntimeClasses the
// guardrails name (their admission plugins refuse unknown ones) and some
// they do not; they are deleted after the suite's specs.
func guardrailClasses(ctx context.Context) func(context.Context) {
	var objs []client.Object
	for i, name := range []string{"tenant-normal", "tenant-batch", "high"} {
		objs = append(objs, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: int32(100 * (i + 1))})
	}
	for _, name := range []string{"gvisor", "runc"} {
		objs = append(objs, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: name})
	}
	for _, o := range objs {
		if err := admin.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
	return func(ctx context.Context) {
		for _, o := range objs {
			_ = admin.Delete(ctx, o)
		}
	}
}

// guardedSpec is a pod spec that Pod Security restricted and the guarded
// Tenant tenant admit: allowed images pulled Always (an init container
// too), its priority and runtime classes, node pool and toleration.
func guardedSpec(tenant string) corev1.PodSpec {
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return corev1.PodSpec{
		SecurityContext:   &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		PriorityClassName: "tenant-normal",
		RuntimeClassName:  ptr.To("gvisor"),
		NodeSelector:      map[string]string{"pool": tenant},
		Tolerations:       []corev1.Toleration{{Key: "pool", Operator: corev1.TolerationOpEqual, Value: tenant, Effect: corev1.TaintEffectNoSchedule}},
		InitContainers:    []corev1.Container{{Name: "init", Image: "registry.example.com/init:1", ImagePullPolicy: corev1.PullAlways, SecurityContext: sc}},
		Containers:        []corev1.Container{{Name: "app", Image: "ghcr.io/team-a/app:1", ImagePullPolicy: corev1.PullAlways, SecurityContext: sc}},
	}
}

func guardedPod(tenant, ns, name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	spec := guardedSpec(tenant)
	if mutate != nil {
		mutate(&spec)
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

// templateKinds are the workload kinds whose pod templates are checked.
var templateKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

// workload is an object of kind with spec as its pod template.
func workload(kind, ns, name string, spec corev1.PodSpec) client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: name}
	labels := map[string]string{"app": name}
	selector := &metav1.LabelSelector{MatchLabels: labels}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Selector: selector, Template: tmpl}}
	case "StatefulSet":
		return &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: selector, Template: tmpl, ServiceName: name}}
	case "DaemonSet":
		return &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: selector, Template: tmpl}}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: selector, Template: tmpl}}
	case "Job":
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		return &batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{Template: tmpl}}
	case "CronJob":
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		return &batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{Schedule: "0 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}
	}
	panic("unknown kind " + kind)
}

// templateSpec is the pod template of a workload read back.
func templateSpec(obj client.Object) corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return o.Spec.Template.Spec
	case *batchv1.Job:
		return o.Spec.Template.Spec
	case *batchv1.CronJob:
		return o.Spec.JobTemplate.Spec.Template.Spec
	}
	panic(fmt.Sprintf("no template in %T", obj))
}

// lowerKind is a kind as a name: deployment, cronjob.
func lowerKind(kind string) string { return strings.ToLower(kind) }
