package e2e

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// A Tenant's spec.workloads guardrails on pods and workload templates, as
// its owner meets them: each rule admits what it allows and refuses the
// rest with its exact message, with the operator running or not.
var _ = Describe("Workload guardrails", Ordered, ContinueOnFailure, func() {
	const (
		tenant, ns = "gr", "gr-a"
		owner      = "gwen"
		ownerGroup = "gr-owners"
		policy     = "workload-guardrails"
		registries = " is not from an allowed registry of tenant gr (ghcr.io/team-a/, registry.example.com/)"
		debugRole  = "e2e-gr-debug"
	)
	var own client.Client
	pod := func(name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
		return guardedPod(tenant, ns, name, mutate)
	}

	BeforeAll(func(ctx SpecContext) {
		DeferCleanup(guardrailClasses(ctx))
		Expect(admin.Create(ctx, guardedTenant(tenant, ns, ownerGroup))).To(Succeed())
		// kubectl debug (pods/ephemeralcontainers) is not in admin: a
		// cluster admin grants it, as one would in a cluster.
		Expect(admin.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: debugRole}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods/ephemeralcontainers"}, Verbs: []string{"get", "update", "patch"}}}})).To(Succeed())
		waitReady(ctx, tenant)
		Expect(admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "debug"},
			RoleRef: clusterRoleRef(debugRole), Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: ownerGroup}}})).To(Succeed())
		own = clientAs(owner, ownerGroup)
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})
			_ = admin.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: debugRole}})
		})
	})

	It("holds pods to the registries, pull policy, classes, node selector and tolerations", func(ctx SpecContext) {
		Expect(own.Create(ctx, pod("ok", nil))).To(Succeed())
		for name, c := range map[string]struct {
			mutate func(*corev1.PodSpec)
			msg    string
		}{
			"image":        {func(s *corev1.PodSpec) { s.Containers[0].Image = "docker.io/evil:1" }, "image docker.io/evil:1" + registries},
			"lookalike":    {func(s *corev1.PodSpec) { s.Containers[0].Image = "ghcr.io/team-abc/app:1" }, "image ghcr.io/team-abc/app:1" + registries},
			"init-image":   {func(s *corev1.PodSpec) { s.InitContainers[0].Image = "quay.io/x/init:1" }, "image quay.io/x/init:1" + registries},
			"pull":         {func(s *corev1.PodSpec) { s.InitContainers[0].ImagePullPolicy = corev1.PullIfNotPresent }, "container init must have imagePullPolicy Always, as tenant gr requires"},
			"priority":     {func(s *corev1.PodSpec) { s.PriorityClassName = "high" }, "priority class high is not an allowed priority class of tenant gr (tenant-normal, tenant-batch)"},
			"no-priority":  {func(s *corev1.PodSpec) { s.PriorityClassName = "" }, "pods must name a priority class of tenant gr (tenant-normal, tenant-batch)"},
			"runtime":      {func(s *corev1.PodSpec) { s.RuntimeClassName = ptr.To("runc") }, "runtime class runc is not an allowed runtime class of tenant gr (gvisor)"},
			"toleration":   {func(s *corev1.PodSpec) { s.Tolerations[0].Value = "other" }, "toleration pool=other:NoSchedule is not an allowed toleration of tenant gr (pool=gr:NoSchedule)"},
			"tolerate-all": {func(s *corev1.PodSpec) { s.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} }, "toleration * is not an allowed toleration of tenant gr (pool=gr:NoSchedule)"},
		} {
			expectDenied(own.Create(ctx, pod("bad-"+name, c.mutate)), policy, c.msg)
		}
		// The cluster's default tolerations (DefaultTolerationSeconds) are added and admitted.
		got := &corev1.Pod{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ok"}, got)).To(Succeed())
		Expect(got.Spec.Tolerations).To(ContainElement(HaveField("Key", "node.kubernetes.io/not-ready")))
		// An update may not bring in an image either.
		expectDenied(own.Patch(ctx, got, client.RawPatch(types.StrategicMergePatchType, []byte(`{"spec":{"containers":[{"name":"app","image":"docker.io/evil:2"}]}}`))),
			policy, "image docker.io/evil:2"+registries)
		Expect(own.Patch(ctx, got, mergePatch(`{"metadata":{"labels":{"x":"y"}}}`))).To(Succeed())
	})

	It("holds every workload template kind to them", func(ctx SpecContext) {
		for _, kind := range templateKinds {
			Expect(own.Create(ctx, workload(kind, ns, "ok-"+lowerKind(kind), guardedSpec(tenant)))).To(Succeed(), kind)
			bad := guardedSpec(tenant)
			bad.InitContainers[0].Image = "docker.io/evil:1"
			expectDenied(own.Create(ctx, workload(kind, ns, "bad-"+lowerKind(kind), bad)), policy, "image docker.io/evil:1"+registries)
			bad = guardedSpec(tenant)
			bad.RuntimeClassName = nil
			expectDenied(own.Create(ctx, workload(kind, ns, "bad-rc-"+lowerKind(kind), bad)), policy,
				"pods must name a runtime class of tenant gr (gvisor)")
		}
	})

	It("holds image volumes to the registries and pull policy, in pods and every template kind", func(ctx SpecContext) {
		withImage := func(ref string, pull corev1.PullPolicy) func(*corev1.PodSpec) {
			return func(s *corev1.PodSpec) {
				s.Volumes = append(s.Volumes, corev1.Volume{Name: "tools", VolumeSource: corev1.VolumeSource{
					Image: &corev1.ImageVolumeSource{Reference: ref, PullPolicy: pull}}})
			}
		}
		Expect(own.Create(ctx, pod("image-volume", withImage("ghcr.io/team-a/tools:1", corev1.PullAlways)))).To(Succeed())
		expectDenied(own.Create(ctx, pod("foreign-volume", withImage("docker.io/evil/tools:1", corev1.PullAlways))), policy,
			"image docker.io/evil/tools:1"+registries)
		expectDenied(own.Create(ctx, pod("cached-volume", withImage("ghcr.io/team-a/tools:1", corev1.PullIfNotPresent))), policy,
			"image volume tools must have pullPolicy Always, as tenant gr requires")
		for _, kind := range templateKinds {
			spec := guardedSpec(tenant)
			withImage("quay.io/evil/tools:1", corev1.PullAlways)(&spec)
			expectDenied(own.Create(ctx, workload(kind, ns, "volume-"+lowerKind(kind), spec)), policy, "image quay.io/evil/tools:1"+registries)
		}
	})

	It("holds ephemeral containers (pods/ephemeralcontainers, kubectl debug) to the registries", func(ctx SpecContext) {
		p := &corev1.Pod{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ok"}, p)).To(Succeed())
		debug := func(name, image string) *corev1.Pod {
			d := p.DeepCopy()
			d.Spec.EphemeralContainers = append(d.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: name, Image: image, ImagePullPolicy: corev1.PullAlways, SecurityContext: p.Spec.Containers[0].SecurityContext}})
			return d
		}
		expectDenied(own.SubResource("ephemeralcontainers").Update(ctx, debug("evil", "docker.io/busybox:1")), policy,
			"image docker.io/busybox:1"+registries)
		Expect(own.SubResource("ephemeralcontainers").Update(ctx, debug("debugger", "ghcr.io/team-a/debug:1"))).To(Succeed())
	})

	It("holds a StatefulSet's volume claims to the storage classes", func(ctx SpecContext) {
		withClaim := func(class string) client.Object {
			ss := workload("StatefulSet", ns, "db-"+class, guardedSpec(tenant)).(*appsv1.StatefulSet)
			ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}}}}}
			return ss
		}
		Expect(own.Create(ctx, withClaim("standard"))).To(Succeed())
		expectDenied(own.Create(ctx, withClaim("fast")), policy, "storage class fast is not an allowed storage class of tenant gr (standard)")
		bound := withClaim("standard").(*appsv1.StatefulSet)
		bound.Name = "db-bound"
		bound.Spec.VolumeClaimTemplates[0].Spec.VolumeName = "pv-of-another-tenant"
		expectDenied(own.Create(ctx, bound), policy, "a PersistentVolumeClaim may not name spec.volumeName in the namespaces of tenant gr: "+
			"binding a claim to an existing PersistentVolume is the cluster's to do")
	})

	It("adds the node selector where MutatingAdmissionPolicy is served, and requires it where not", func(ctx SpecContext) {
		noSelector := func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"pool": "other", "disk": "ssd"} }
		Expect(own.Create(ctx, pod("selected", noSelector))).To(Succeed())
		got := &corev1.Pod{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "selected"}, got)).To(Succeed())
		Expect(got.Spec.NodeSelector).To(Equal(map[string]string{"pool": tenant, "disk": "ssd"}))
		spec := guardedSpec(tenant)
		spec.NodeSelector = nil
		Expect(own.Create(ctx, workload("Deployment", ns, "selected", spec))).To(Succeed())
		dep := workload("Deployment", ns, "selected", corev1.PodSpec{})
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		Expect(templateSpec(dep).NodeSelector).To(Equal(map[string]string{"pool": tenant}))
		// A CronJob's template is two levels deeper (jobTemplate.spec.template).
		Expect(own.Create(ctx, workload("CronJob", ns, "selected", spec))).To(Succeed())
		cron := workload("CronJob", ns, "selected", corev1.PodSpec{})
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(cron), cron)).To(Succeed())
		Expect(templateSpec(cron).NodeSelector).To(Equal(map[string]string{"pool": tenant}))

		// Without the mutating policy (a cluster before 1.36), pods must carry it.
		binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: "tenantry-node-selector"}, binding)).To(Succeed())
		Expect(admin.Delete(ctx, binding)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			restored := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: binding.Name, Labels: binding.Labels}, Spec: binding.Spec}
			Expect(admin.Create(ctx, restored)).To(Succeed())
		})
		Eventually(func() error {
			err := own.Create(ctx, pod("unselected", func(s *corev1.PodSpec) { s.NodeSelector = nil }))
			if err == nil {
				_ = admin.Delete(ctx, pod("unselected", nil), client.GracePeriodSeconds(0))
			}
			return err
		}).WithContext(ctx).Should(HaveOccurred())
		expectDenied(own.Create(ctx, pod("unselected", func(s *corev1.PodSpec) { s.NodeSelector = nil })), policy,
			"pods must carry the nodeSelector of tenant gr (pool=gr); missing: pool=gr")
		Expect(own.Create(ctx, pod("self-selected", nil))).To(Succeed())
	})

	It("keeps refusing with the operator stopped", func(ctx SpecContext) {
		Expect(operator.Stop()).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			var err error
			operator, err = cluster.StartOperator(ctx, localcluster.OperatorOptions{Binary: managerBinary(),
				Namespace: operatorNamespace, ServiceAccount: operatorSA, Dir: filepath.Join(workDir, "operator")})
			Expect(err).NotTo(HaveOccurred())
		})
		expectDenied(own.Create(ctx, pod("stopped", func(s *corev1.PodSpec) { s.Containers[0].Image = "docker.io/evil:1" })),
			policy, "image docker.io/evil:1"+registries)
		expectDenied(own.Create(ctx, workload("CronJob", ns, "stopped", func() corev1.PodSpec {
			s := guardedSpec(tenant)
			s.PriorityClassName = "high"
			return s
		}())), policy, "priority class high is not an allowed priority class of tenant gr (tenant-normal, tenant-batch)")
		Expect(own.Create(ctx, pod("stopped-ok", nil))).To(Succeed())
	})

	It("holds the new guardrails within a second of the Tenant being Ready again", func(ctx SpecContext) {
		change := func(registries ...tenantryv1alpha1.RegistryPrefix) {
			Eventually(func() error {
				tn := &tenantryv1alpha1.Tenant{}
				if err := admin.Get(ctx, client.ObjectKey{Name: tenant}, tn); err != nil {
					return err
				}
				tn.Spec.Workloads.Registries = registries
				return admin.Update(ctx, tn)
			}).WithContext(ctx).Should(Succeed())
			waitReady(ctx, tenant)
		}
		quay := func(name string) *corev1.Pod {
			return pod(name, func(s *corev1.PodSpec) { s.Containers[0].Image = "quay.io/team-a/app:1" })
		}
		expectDenied(own.Create(ctx, quay("quay-0")), policy, "image quay.io/team-a/app:1"+registries)

		change("ghcr.io/team-a/", "registry.example.com/", "quay.io/team-a/")
		ready := time.Now()
		Eventually(func() error { return own.Create(ctx, quay("quay-1")) }).
			WithContext(ctx).WithTimeout(time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("a registry added: admitted %s after Ready\n", time.Since(ready))

		change("ghcr.io/team-a/")
		ready = time.Now()
		Eventually(func() error { return own.Create(ctx, pod("dropped", nil)) }).
			WithContext(ctx).WithTimeout(time.Second).WithPolling(20 * time.Millisecond).Should(HaveOccurred())
		GinkgoWriter.Printf("a registry dropped: refused %s after Ready\n", time.Since(ready))
		expectDenied(own.Create(ctx, pod("dropped", nil)), policy, "image registry.example.com/init:1 is not from an allowed registry of tenant gr (ghcr.io/team-a/)")
	})
})
