package e2e

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Denial sources, asserted exactly: who refused, and why.
const (
	policyDenied = "ValidatingAdmissionPolicy 'tenantry-protect-managed-objects' with binding 'tenantry-protect-managed-objects' denied request: "
	psaDenied    = `violates PodSecurity "restricted:latest": `
)

// rbacDenied is the message RBAC gives for verb on resource in namespace.
func rbacDenied(user, verb, resource, group, namespace string) string {
	msg := `User "` + user + `" cannot ` + verb + ` resource "` + resource + `" in API group "` + group + `"`
	if namespace == "" {
		return msg + " at the cluster scope"
	}
	return msg + ` in the namespace "` + namespace + `"`
}

func isolationTenant(name, ns, ownerGroup string) *tenantryv1alpha1.Tenant {
	return &tenantryv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenantryv1alpha1.TenantSpec{
			Owners:       []tenantryv1alpha1.Subject{{Kind: "Group", Name: ownerGroup, APIGroup: rbacv1.GroupName}},
			RoleBindings: []tenantryv1alpha1.TenantRoleBinding{{Name: "auditors", ClusterRole: "view", Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-auditors"}}}},
			Namespaces:   []tenantryv1alpha1.TenantNamespace{{Name: ns}},
			ResourceQuotas: []tenantryv1alpha1.TenantResourceQuota{
				{Name: "compute", Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "limits.cpu": resource.MustParse("4")}},
				{Name: "services", Hard: corev1.ResourceList{"services.nodeports": resource.MustParse("0"), "services.loadbalancers": resource.MustParse("0")}},
			},
			LimitRange: &tenantryv1alpha1.TenantLimitRange{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
				Default:        corev1.ResourceList{"cpu": resource.MustParse("100m"), "memory": resource.MustParse("64Mi")},
				DefaultRequest: corev1.ResourceList{"cpu": resource.MustParse("50m"), "memory": resource.MustParse("32Mi")}}}},
		},
	}
}

// restrictedPod is a pod the restricted Pod Security level admits; mutate
// breaks it in one way.
func restrictedPod(ns, name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		},
	}
	if mutate != nil {
		mutate(p)
	}
	return p
}

var _ = Describe("Tenant isolation", Ordered, ContinueOnFailure, func() {
	const (
		nsA, nsB = "iso-a", "iso-b"
		alice    = "alice" // owner of tenant iso-a (group iso-a-admins)
		bob      = "bob"   // owner of tenant iso-b
		auditor  = "carol" // view in iso-a
		platform = "pat"   // cluster-wide admin, not system:masters
		aliceGrp = "iso-a-admins"
		bobGrp   = "iso-b-admins"
		auditGrp = "iso-a-auditors"
		platBind = "e2e-platform-admin"
	)
	var ownerA, ownerB, audit, plat client.Client

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, isolationTenant("iso-a", nsA, aliceGrp))).To(Succeed())
		Expect(admin.Create(ctx, isolationTenant("iso-b", nsB, bobGrp))).To(Succeed())
		waitReady(ctx, "iso-a")
		waitReady(ctx, "iso-b")
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: platBind},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: platform}},
		})).To(Succeed())
		ownerA, ownerB = clientAs(alice, aliceGrp), clientAs(bob, bobGrp)
		audit, plat = clientAs(auditor, auditGrp), clientAs(platform)
	})

	Context("across tenants", func() {
		It("denies creating in and reading from the other tenant, both ways", func(ctx SpecContext) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "x"}}
			Expect(ownerA.Create(ctx, cm)).To(MatchError(ContainSubstring(rbacDenied(alice, "create", "configmaps", "", nsB))))
			Expect(ownerA.List(ctx, &corev1.SecretList{}, client.InNamespace(nsB))).To(MatchError(ContainSubstring(rbacDenied(alice, "list", "secrets", "", nsB))))
			cm.Namespace = nsA
			Expect(ownerB.Create(ctx, cm)).To(MatchError(ContainSubstring(rbacDenied(bob, "create", "configmaps", "", nsA))))
			Expect(ownerB.List(ctx, &corev1.PodList{}, client.InNamespace(nsA))).To(MatchError(ContainSubstring(rbacDenied(bob, "list", "pods", "", nsA))))
		})

		It("denies cluster-scoped reads and listing namespaces; allows getting one's own namespace and Tenant", func(ctx SpecContext) {
			Expect(ownerA.List(ctx, &corev1.NamespaceList{})).To(MatchError(ContainSubstring(rbacDenied(alice, "list", "namespaces", "", ""))))
			Expect(ownerA.List(ctx, &corev1.NodeList{})).To(MatchError(ContainSubstring(rbacDenied(alice, "list", "nodes", "", ""))))
			Expect(ownerA.List(ctx, &tenantryv1alpha1.TenantList{})).To(MatchError(ContainSubstring(rbacDenied(alice, "list", "tenants", "tenantry.io", ""))))
			Expect(ownerA.Get(ctx, client.ObjectKey{Name: nsB}, &corev1.Namespace{})).To(MatchError(ContainSubstring(rbacDenied(alice, "get", "namespaces", "", nsB))))
			Expect(ownerA.Get(ctx, client.ObjectKey{Name: "iso-b"}, &tenantryv1alpha1.Tenant{})).To(MatchError(ContainSubstring(rbacDenied(alice, "get", "tenants", "tenantry.io", ""))))
			Expect(ownerA.Get(ctx, client.ObjectKey{Name: nsA}, &corev1.Namespace{})).To(Succeed())
			Expect(ownerA.Get(ctx, client.ObjectKey{Name: "iso-a"}, &tenantryv1alpha1.Tenant{})).To(Succeed())
		})

		It("gives the auditor read access in its tenant only", func(ctx SpecContext) {
			Expect(audit.List(ctx, &corev1.PodList{}, client.InNamespace(nsA))).To(Succeed())
			Expect(audit.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "x"}})).
				To(MatchError(ContainSubstring(rbacDenied(auditor, "create", "configmaps", "", nsA))))
			Expect(audit.List(ctx, &corev1.SecretList{}, client.InNamespace(nsA))).To(MatchError(ContainSubstring(rbacDenied(auditor, "list", "secrets", "", nsA))))
			Expect(audit.List(ctx, &corev1.PodList{}, client.InNamespace(nsB))).To(MatchError(ContainSubstring(rbacDenied(auditor, "list", "pods", "", nsB))))
		})
	})

	Context("Pod Security restricted", func() {
		DescribeTable("refuses pods that break it",
			func(ctx SpecContext, name string, mutate func(*corev1.Pod), reason string) {
				err := ownerA.Create(ctx, restrictedPod(nsA, name, mutate))
				Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
				Expect(err).To(MatchError(ContainSubstring(psaDenied)))
				Expect(err).To(MatchError(ContainSubstring(reason)))
			},
			Entry("privileged", "privileged", func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
				p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil // the API refuses privileged without escalation
			}, `privileged (container "c" must not set securityContext.privileged=true)`),
			Entry("hostPath", "hostpath", func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			}, `restricted volume types (volume "h" uses restricted volume type "hostPath")`),
			Entry("hostNetwork", "hostnetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, "host namespaces (hostNetwork=true)"),
			Entry("hostPort", "hostport", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
			}, `hostPort (container "c" uses hostPort 80)`),
			Entry("hostPID", "hostpid", func(p *corev1.Pod) { p.Spec.HostPID = true }, "host namespaces (hostPID=true)"),
			Entry("hostIPC", "hostipc", func(p *corev1.Pod) { p.Spec.HostIPC = true }, "host namespaces (hostIPC=true)"),
			Entry("added capabilities", "caps", func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			}, `unrestricted capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)`),
			Entry("runAsNonRoot false", "root", func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
			}, "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"),
			Entry("allowPrivilegeEscalation true", "escalation", func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
			}, `allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)`),
		)

		It("accepts a compliant pod", func(ctx SpecContext) {
			Expect(ownerA.Create(ctx, restrictedPod(nsA, "compliant", nil))).To(Succeed())
		})

		It("cannot be weakened by the owner or a non-masters admin", func(ctx SpecContext) {
			patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`))
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsA}}
			Expect(ownerA.Patch(ctx, ns, patch)).To(MatchError(ContainSubstring(rbacDenied(alice, "patch", "namespaces", "", nsA))))
			Expect(plat.Patch(ctx, ns, patch)).To(MatchError(ContainSubstring(policyDenied + "Namespace iso-a is managed by Tenantry for tenant iso-a")))
		})
	})

	Context("quotas", func() {
		It("cannot be edited or deleted by the owner (RBAC)", func(ctx SpecContext) {
			rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "tenantry-compute"}}
			Expect(ownerA.Patch(ctx, rq, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"hard":{"pods":"1000"}}}`)))).
				To(MatchError(ContainSubstring(rbacDenied(alice, "patch", "resourcequotas", "", nsA))))
			Expect(ownerA.Delete(ctx, rq)).To(MatchError(ContainSubstring(rbacDenied(alice, "delete", "resourcequotas", "", nsA))))
		})

		It("refuses NodePort and LoadBalancer services when the quota sets them to 0", func(ctx SpecContext) {
			for _, typ := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
				svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: strings.ToLower(string(typ))},
					Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{Port: 80}}}}
				err := ownerA.Create(ctx, svc)
				Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
				Expect(err).To(MatchError(ContainSubstring("exceeded quota: tenantry-services")))
			}
		})
	})

	Context("Tenantry's own objects", func() {
		It("cannot be edited or deleted by the owner (policy)", func(ctx SpecContext) {
			np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "tenantry-isolation"}}
			Expect(ownerA.Patch(ctx, np, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"ingress":[{}]}}`)))).
				To(MatchError(ContainSubstring(policyDenied + "NetworkPolicy iso-a/tenantry-isolation is managed by Tenantry for tenant iso-a (label tenantry.io/tenant): only the Tenantry operator may update it")))
			Expect(ownerA.Delete(ctx, np)).To(MatchError(ContainSubstring(policyDenied + "NetworkPolicy iso-a/tenantry-isolation is managed by Tenantry for tenant iso-a (label tenantry.io/tenant): only the Tenantry operator may delete it")))
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "tenantry-owner"}}
			Expect(ownerA.Delete(ctx, rb)).To(MatchError(ContainSubstring(policyDenied + "RoleBinding iso-a/tenantry-owner is managed by Tenantry")))
			Expect(ownerA.Patch(ctx, rb, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"tenantry.io/tenant":null}}}`)))).
				To(MatchError(ContainSubstring(policyDenied + "RoleBinding iso-a/tenantry-owner is managed by Tenantry")))
		})

		It("lets owners manage their own Roles, RoleBindings and NetworkPolicies without escalating", func(ctx SpecContext) {
			Expect(ownerA.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "reader"},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}})).To(Succeed())
			Expect(ownerA.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "reader"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "dave"}}})).To(Succeed())
			Expect(ownerA.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "own"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}})).To(Succeed())
			err := ownerA.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "root"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: alice}}})
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			Expect(err).To(MatchError(ContainSubstring("is attempting to grant RBAC permissions not currently held")))
			// Labelling one's own object into Tenantry's care is refused too.
			err = ownerA.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "fake",
				Labels: map[string]string{tenantryv1alpha1.TenantLabel: "iso-b"}}})
			Expect(err).NotTo(HaveOccurred(), "ConfigMaps are not Tenantry kinds: the label means nothing there")
			err = ownerA.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "fake",
				Labels: map[string]string{tenantryv1alpha1.TenantLabel: "iso-a"}}})
			Expect(err).To(MatchError(ContainSubstring(policyDenied + "NetworkPolicy iso-a/fake is managed by Tenantry for tenant iso-a (label tenantry.io/tenant): only the Tenantry operator may create it")))
		})
	})

	Context("no hijacking", func() {
		It("stops a non-masters admin from creating a namespace with a tenant's label", func(ctx SpecContext) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hijack", Labels: map[string]string{tenantryv1alpha1.TenantLabel: "iso-b"}}}
			Expect(plat.Create(ctx, ns)).To(MatchError(ContainSubstring(policyDenied + "Namespace hijack is managed by Tenantry for tenant iso-b (label tenantry.io/tenant): only the Tenantry operator may create it")))
		})

		It("stops a non-masters admin from relabelling a tenant namespace or pulling one in", func(ctx SpecContext) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsB}}
			Expect(plat.Patch(ctx, ns, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"tenantry.io/tenant":null}}}`)))).
				To(MatchError(ContainSubstring(policyDenied + "Namespace iso-b is managed by Tenantry for tenant iso-b")))
			Expect(plat.Patch(ctx, ns, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"tenantry.io/tenant":"iso-a"}}}`)))).
				To(MatchError(ContainSubstring(policyDenied + "Namespace iso-b is managed by Tenantry")))
			plain := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}
			Expect(plat.Create(ctx, plain)).To(Succeed())
			Expect(plat.Patch(ctx, plain, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"tenantry.io/tenant":"iso-a"}}}`)))).
				To(MatchError(ContainSubstring(policyDenied + "Namespace plain is managed by Tenantry for tenant iso-a (label tenantry.io/tenant): only the Tenantry operator may update it")))
		})
	})

	AfterAll(func(ctx SpecContext) {
		_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind}})
		_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}})
		for _, name := range []string{"iso-a", "iso-b"} {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
})
