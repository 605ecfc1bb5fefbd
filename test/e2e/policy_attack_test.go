package e2e

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// expectDenied asserts that err is policy's refusal with exactly msg.
func expectDenied(err error, policy, msg string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "want %s to refuse: %s", policy, msg)
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	Expect(err.Error()).To(HaveSuffix(" is forbidden: ValidatingAdmissionPolicy 'tenantry-" + policy +
		"' with binding 'tenantry-" + policy + "' denied request: " + msg))
}

func mergePatch(format string, args ...any) client.Patch {
	return client.RawPatch(types.MergePatchType, fmt.Appendf(nil, format, args...))
}

func userSubject(name string) []rbacv1.Subject {
	return []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: name}}
}

func clusterRoleRef(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

// Each spec impersonates an attacker the security review found and asserts
// the exact refusal; every one of these requests was admitted before.
var _ = Describe("Policy attacks", Ordered, ContinueOnFailure, func() {
	const (
		tenant, ns  = "atk", "atk-a"
		delTenant   = "atk-del"
		delNS       = "atk-del-a"
		plain       = "atk-plain" // a namespace no Tenant owns
		owner       = "olive"     // owner of tenant atk (group atk-owners)
		ownerGroup  = "atk-owners"
		platform    = "pam"  // cluster-admin, not system:masters
		engineer    = "pete" // holds tenantry-tenant-editor-role only
		ksAttacker  = "system:serviceaccount:kube-system:attacker"
		gcSA        = "system:serviceaccount:kube-system:generic-garbage-collector"
		nsCtrlSA    = "system:serviceaccount:kube-system:namespace-controller"
		platBind    = "e2e-atk-platform"
		ksBind      = "e2e-atk-kube-system"
		editorBind  = "e2e-atk-tenant-editor"
		managedHint = " or set its tenantry.io/tenant and pod-security.kubernetes.io/* labels; change Tenant "
	)
	var own, plat, ks, gc, nsCtrl, eng, op client.Client
	var opUser string
	ksGroups := []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, isolationTenant(tenant, ns, ownerGroup))).To(Succeed())
		Expect(admin.Create(ctx, isolationTenant(delTenant, delNS, delTenant+"-admins"))).To(Succeed())
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}})).To(Succeed())
		Expect(admin.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: plain, Name: "foreign"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}})).To(Succeed())
		for name, s := range map[string]rbacv1.Subject{
			platBind: {APIGroup: rbacv1.GroupName, Kind: "User", Name: platform},
			ksBind:   {Kind: "ServiceAccount", Namespace: "kube-system", Name: "attacker"},
		} {
			Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef: clusterRoleRef("cluster-admin"), Subjects: []rbacv1.Subject{s}})).To(Succeed())
		}
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editorBind},
			RoleRef: clusterRoleRef("tenantry-tenant-editor-role"), Subjects: userSubject(engineer)})).To(Succeed())
		waitReady(ctx, tenant)
		waitReady(ctx, delTenant)

		var opGroups []string
		opUser, opGroups = localcluster.ServiceAccountUser(operatorNamespace, operatorSA)
		own, plat, eng = clientAs(owner, ownerGroup), clientAs(platform), clientAs(engineer)
		ks, gc, nsCtrl = clientAs(ksAttacker, ksGroups...), clientAs(gcSA, ksGroups...), clientAs(nsCtrlSA, ksGroups...)
		op = clientAs(opUser, opGroups...)
	})

	Context("subresources of managed objects", func() {
		nsObj := func() *corev1.Namespace { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}} }

		It("refuses a non-masters admin relabelling a tenant namespace through namespaces/status", func(ctx SpecContext) {
			expectDenied(plat.Status().Patch(ctx, nsObj(), mergePatch(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)),
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource status included)"+managedHint+"atk instead")
			expectDenied(plat.Status().Patch(ctx, nsObj(), mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":"atk-del"}}}`)),
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk-del (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource status included)"+managedHint+"atk-del instead")
		})

		It("refuses a non-masters admin writing namespaces/finalize of a tenant namespace", func(ctx SpecContext) {
			cur := &corev1.Namespace{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: ns}, cur)).To(Succeed())
			cur.Spec.Finalizers = nil
			expectDenied(plat.SubResource("finalize").Update(ctx, cur),
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource finalize included)"+managedHint+"atk instead")
		})

		It("refuses labelling a foreign ResourceQuota into a tenant through resourcequotas/status", func(ctx SpecContext) {
			rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: plain, Name: "foreign"}}
			expectDenied(plat.Status().Patch(ctx, rq, mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":"atk"}}}`)),
				"protect-managed-objects", "ResourceQuota atk-plain/foreign is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource status included)"+managedHint+"atk instead")
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(rq), rq)).To(Succeed())
			Expect(rq.Labels).NotTo(HaveKey(tenantryv1alpha1.TenantLabel))
		})

		It("gives the cluster's controllers only the writes they make, never a label change", func(ctx SpecContext) {
			// The garbage collector may patch and delete (owner references,
			// finalizers), not write a status; the namespace controller
			// writes status and finalize, never labels.
			expectDenied(gc.Status().Patch(ctx, nsObj(), mergePatch(`{"metadata":{"annotations":{"x":"y"}}}`)),
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource status included)"+managedHint+"atk instead")
			expectDenied(gc.Patch(ctx, nsObj(), mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":null}}}`)),
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it"+managedHint+"atk instead")
			cur := &corev1.Namespace{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: ns}, cur)).To(Succeed())
			cur.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
			expectDenied(nsCtrl.Status().Update(ctx, cur), // its RBAC grants update, not patch
				"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
					"only the Tenantry operator may update it (subresource status included)"+managedHint+"atk instead")
		})
	})

	It("refuses any other kube-system ServiceAccount, even one bound to cluster-admin", func(ctx SpecContext) {
		expectDenied(ks.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			mergePatch(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)),
			"protect-managed-objects", "Namespace atk-a is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
				"only the Tenantry operator may update it"+managedHint+"atk instead")
		expectDenied(ks.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenantry-owner"}}),
			"protect-managed-objects", "RoleBinding atk-a/tenantry-owner is managed by Tenantry for tenant atk (label tenantry.io/tenant): "+
				"only the Tenantry operator may delete it"+managedHint+"atk instead")
	})

	Context("in tenant namespaces", func() {
		const reserved = ": names starting with tenantry- are reserved for the Tenantry operator in the namespaces of tenant atk; " +
			"choose another name, or declare the object in Tenant atk to have Tenantry create it"
		const allUsers = ": in the namespaces of tenant atk nobody may grant to all users, all service accounts or anonymous requests; " +
			"bind named users, groups or service accounts instead"

		It("reserves tenantry-* names to the operator", func(ctx SpecContext) {
			expectDenied(own.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenantry-deploy"},
				RoleRef: clusterRoleRef("edit"), Subjects: userSubject(owner)}),
				"tenant-namespace-rules", "RoleBinding atk-a/tenantry-deploy"+reserved)
			expectDenied(own.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenantry-allow-all"},
				Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}}),
				"tenant-namespace-rules", "NetworkPolicy atk-a/tenantry-allow-all"+reserved)
			expectDenied(plat.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenantry-extra"},
				Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1000")}}}),
				"tenant-namespace-rules", "ResourceQuota atk-a/tenantry-extra"+reserved)
		})

		It("refuses role bindings to all users, all service accounts or anonymous", func(ctx SpecContext) {
			expectDenied(own.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "everyone"},
				RoleRef: clusterRoleRef("admin"), Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:authenticated"}}}),
				"tenant-namespace-rules", "RoleBinding atk-a/everyone may not bind Group system:authenticated"+allUsers)
			expectDenied(own.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "anyone"},
				RoleRef: clusterRoleRef("view"), Subjects: []rbacv1.Subject{
					{APIGroup: rbacv1.GroupName, Kind: "User", Name: "dave"},
					{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:unauthenticated"},
					{APIGroup: rbacv1.GroupName, Kind: "User", Name: "system:anonymous"}}}),
				"tenant-namespace-rules", "RoleBinding atk-a/anyone may not bind Group system:unauthenticated, User system:anonymous"+allUsers)
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
				RoleRef: clusterRoleRef("view"), Subjects: userSubject("dave")}
			Expect(own.Create(ctx, rb)).To(Succeed())
			expectDenied(own.Patch(ctx, rb, mergePatch(`{"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"dave"},`+
				`{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"system:serviceaccounts"}]}`)),
				"tenant-namespace-rules", "RoleBinding atk-a/devs may not bind Group system:serviceaccounts"+allUsers)
		})
	})

	Context("the operator's own ServiceAccount", func() {
		const fence = "operator-fence"
		const sa = ": the Tenantry operator's ServiceAccount may not "
		const notTenantry = ": Tenantry's cluster-wide RBAC is named tenantry:tenant:<tenant>; grant other cluster-wide access as a cluster admin"

		It("cannot grant itself or anyone cluster-wide access", func(ctx SpecContext) {
			expectDenied(op.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "steal"},
				RoleRef: clusterRoleRef("admin"), Subjects: userSubject(opUser)}),
				fence, "ClusterRoleBinding steal"+sa+"create it"+notTenantry)
			expectDenied(op.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenantry:tenant:atk-steal"},
				RoleRef: clusterRoleRef("admin"), Subjects: userSubject("mallory")}),
				fence, "ClusterRoleBinding tenantry:tenant:atk-steal"+sa+"create it: a ClusterRoleBinding of Tenantry binds the ClusterRole of its own name, not ClusterRole admin")
			expectDenied(op.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind}}),
				fence, "ClusterRoleBinding "+platBind+sa+"delete it"+notTenantry)
			const wide = ": a ClusterRole of Tenantry grants only get, list and watch on named tenants.tenantry.io and named namespaces"
			expectDenied(op.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenantry:tenant:atk-wide"},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}}}}),
				fence, "ClusterRole tenantry:tenant:atk-wide"+sa+"create it"+wide)
			expectDenied(op.Patch(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenantry:tenant:atk"}},
				client.RawPatch(types.JSONPatchType, []byte(`[{"op":"add","path":"/rules/-","value":{"apiGroups":["rbac.authorization.k8s.io"],`+
					`"resources":["rolebindings"],"verbs":["create"],"resourceNames":["x"]}}]`))),
				fence, "ClusterRole tenantry:tenant:atk"+sa+"update it"+wide)
		})

		It("writes children only in tenant namespaces, with their label, binding only allowed ClusterRoles", func(ctx SpecContext) {
			expectDenied(op.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "steal"},
				RoleRef: clusterRoleRef("admin"), Subjects: userSubject("mallory")}),
				fence, "RoleBinding kube-system/steal"+sa+"create it: namespace kube-system carries no tenantry.io/tenant label, so it is no tenant's; Tenantry writes there only in dry runs")
			expectDenied(op.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenantry-steal",
				Labels: map[string]string{tenantryv1alpha1.TenantLabel: tenant}},
				RoleRef: clusterRoleRef("tenantry-manager-role"), Subjects: userSubject("mallory")}),
				fence, "RoleBinding atk-a/tenantry-steal"+sa+"create it: Tenantry binds only the ClusterRoles admin, edit, view (--allowed-cluster-roles), not ClusterRole tenantry-manager-role")
			quota := func(namespace, label string) *corev1.ResourceQuota {
				q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "tenantry-steal"},
					Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}}
				if label != "" {
					q.Labels = map[string]string{tenantryv1alpha1.TenantLabel: label}
				}
				return q
			}
			expectDenied(op.Create(ctx, quota(ns, delTenant)),
				fence, `ResourceQuota atk-a/tenantry-steal`+sa+`create it: its tenantry.io/tenant label "atk-del" is not that of namespace atk-a ("atk")`)
			expectDenied(op.Create(ctx, quota(plain, "")),
				fence, "ResourceQuota atk-plain/tenantry-steal"+sa+"create it: namespace atk-plain carries no tenantry.io/tenant label, so it is no tenant's; Tenantry writes there only in dry runs")
			expectDenied(op.Delete(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: plain, Name: "foreign"}}),
				fence, "ResourceQuota atk-plain/foreign"+sa+"delete it: namespace atk-plain carries no tenantry.io/tenant label, so it is no tenant's; Tenantry writes there only in dry runs")
			// The preflight dry run it needs still passes: nothing is stored.
			Expect(op.Create(ctx, quota("default", tenant), client.DryRunAll)).To(Succeed())
		})

		It("leaves system namespaces and its own alone, and deletes only tenant namespaces", func(ctx SpecContext) {
			const never = " it: kube-system, kube-public, kube-node-lease, default, tenantry-system are never tenant namespaces; do not list them in a Tenant"
			for _, name := range []string{"kube-system", "default", operatorNamespace} {
				expectDenied(op.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
					mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":"atk"}}}`)),
					fence, "Namespace "+name+sa+"update"+never)
			}
			// (NamespaceLifecycle itself keeps default, kube-system and kube-public.)
			expectDenied(op.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-node-lease"}}),
				fence, "Namespace kube-node-lease"+sa+"delete"+never)
			expectDenied(op.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}}),
				fence, "Namespace atk-plain"+sa+"delete it: it carries no tenantry.io/tenant label, so no Tenant owns it; a cluster admin deletes it if it must go")
		})
	})

	Context("Tenants", func() {
		const finalizer = ": only the Tenantry operator may remove finalizer tenantry.io/finalizer, " +
			"once the tenant's namespaces are released or deleted; delete the Tenant and the operator removes it"
		tn := func() *tenantryv1alpha1.Tenant {
			return &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}}
		}

		It("keeps Tenant status the operator's", func(ctx SpecContext) {
			forged := mergePatch(`{"status":{"conditions":null}}`)
			expectDenied(plat.Status().Patch(ctx, tn(), forged), "protect-tenants",
				"Tenant atk: its status is written only by the Tenantry operator (it records what the operator owns); change the spec instead")
			Expect(eng.Status().Patch(ctx, tn(), forged)).To(MatchError(ContainSubstring(rbacDenied(engineer, "patch", "tenants/status", "tenantry.io", ""))))
		})

		It("keeps the finalizer until the operator removes it, and deleting still works", func(ctx SpecContext) {
			strip := mergePatch(`{"metadata":{"finalizers":null}}`)
			expectDenied(eng.Patch(ctx, tn(), strip), "protect-tenants", "Tenant atk"+finalizer)
			expectDenied(plat.Patch(ctx, tn(), strip), "protect-tenants", "Tenant atk"+finalizer)
			Expect(eng.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: delTenant}})).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: delTenant}, &tenantryv1alpha1.Tenant{}))
			}).WithContext(ctx).Should(BeTrue())
		})
	})

	AfterAll(func(ctx SpecContext) {
		for _, name := range []string{platBind, ksBind, editorBind} {
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
		for _, name := range []string{tenant, delTenant} {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
		for _, name := range []string{plain, delNS} {
			_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	})
})
