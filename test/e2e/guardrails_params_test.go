package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// The guardrails' parameters are annotations on the tenant namespace: only
// the operator writes them. And a hostname belongs to one Tenant only, the
// earlier one, whichever order they come in.
var _ = Describe("Guardrail parameters and hostnames", Ordered, ContinueOnFailure, func() {
	const (
		tenant, ns = "gp", "gp-a"
		owner      = "gail"
		ownerGroup = "gp-owners"
		platform   = "gp-pam" // cluster-admin, not system:masters
		engineer   = "gp-pete"
		platBind   = "e2e-gp-platform"
		editorBind = "e2e-gp-editor"
		managed    = "Namespace gp-a is managed by Tenantry for tenant gp (label tenantry.io/tenant): only the Tenantry operator may update it"
		hint       = " or set its tenantry.io/tenant and pod-security.kubernetes.io/* labels; change Tenant gp instead"
	)
	var own, plat, eng, gc client.Client

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, guardedTenant(tenant, ns, ownerGroup))).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind},
			RoleRef: clusterRoleRef("cluster-admin"), Subjects: userSubject(platform)})).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editorBind},
			RoleRef: clusterRoleRef("tenantry-tenant-editor-role"), Subjects: userSubject(engineer)})).To(Succeed())
		waitReady(ctx, tenant)
		own, plat, eng = clientAs(owner, ownerGroup), clientAs(platform), clientAs(engineer)
		gc = clientAs("system:serviceaccount:kube-system:generic-garbage-collector", "system:serviceaccounts", "system:serviceaccounts:kube-system")
		DeferCleanup(func(ctx SpecContext) {
			for _, name := range []string{platBind, editorBind} {
				_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}})
			}
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})
		})
	})

	It("lets nobody but the operator change them", func(ctx SpecContext) {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		widen := mergePatch(`{"metadata":{"annotations":{"tenantry.io/registries":"docker.io/"}}}`)
		drop := mergePatch(`{"metadata":{"annotations":{"tenantry.io/egress":null}}}`)
		Expect(own.Patch(ctx, nsObj, widen)).To(MatchError(ContainSubstring(rbacDenied(owner, "patch", "namespaces", "", ns))))
		expectDenied(plat.Patch(ctx, nsObj, widen), "protect-managed-objects", managed+hint)
		expectDenied(plat.Patch(ctx, nsObj, drop), "protect-managed-objects", managed+hint)
		expectDenied(plat.Status().Patch(ctx, nsObj, widen), "protect-managed-objects", managed+" (subresource status included)"+hint)
		// The cluster's controllers may patch a tenant namespace, never Tenantry's annotations.
		expectDenied(gc.Patch(ctx, nsObj, widen), "protect-managed-objects", managed+hint)
		// Through the Tenant, tenantry.io/ annotations are reserved.
		err := eng.Patch(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}},
			mergePatch(`{"spec":{"namespaceMetadata":{"annotations":{"tenantry.io/registries":"docker.io/"}}}}`))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("spec.namespaceMetadata.annotations: Invalid value: annotations under tenantry.io/ are reserved")))
		got := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: ns}, got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.RegistriesAnnotation, "ghcr.io/team-a/,registry.example.com/"))
		Expect(got.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.EgressAnnotation, "Tenant"))
	})

	// hostnameTenant makes a Tenant asking for hostnames and returns it once
	// the operator has judged it (Ready, or Stalled).
	hostnameTenant := func(ctx SpecContext, name string, hostnames ...tenantryv1alpha1.Hostname) {
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-owners", APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: name + "-a"}},
			Workloads:  &tenantryv1alpha1.Workloads{Hostnames: hostnames, IngressClasses: []tenantryv1alpha1.ClassName{"nginx"}},
		}}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
		})
	}
	stalled := func(ctx SpecContext, name string) *metav1.Condition {
		var c *metav1.Condition
		Eventually(func(g Gomega) {
			tn := &tenantryv1alpha1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: name}, tn)).To(Succeed())
			g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
			c = meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionStalled)
			g.Expect(c).NotTo(BeNil(), "%s not Stalled: %+v", name, tn.Status.Conditions)
		}).WithContext(ctx).Should(Succeed())
		return c
	}
	ingress := func(name, ns, host string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"), Rules: []networkingv1.IngressRule{{Host: host}}}}
	}
	// The earlier Tenant keeps the hostname; created a second later, the
	// other one is Stalled and may not serve it, whatever their names.
	conflict := func(ctx SpecContext, earlier, later string) {
		hostnameTenant(ctx, earlier, "app.hc.example.com")
		waitReady(ctx, earlier)
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
		hostnameTenant(ctx, later, "*.hc.example.com", tenantryv1alpha1.Hostname(later+".example.org"))
		c := stalled(ctx, later)
		Expect(c.Reason).To(Equal(tenantryv1alpha1.ReasonHostnameConflict))
		Expect(c.Message).To(Equal("Hostnames held by another Tenant were not granted: *.hc.example.com (tenant " + earlier +
			" has app.hc.example.com); Ingresses may not serve them until that Tenant gives them up"))
		Expect(clientAs(earlier+"-owner", earlier+"-owners").Create(ctx, ingress("app", earlier+"-a", "app.hc.example.com"))).To(Succeed())
		laterOwner := clientAs(later+"-owner", later+"-owners")
		expectDenied(laterOwner.Create(ctx, ingress("app", later+"-a", "app.hc.example.com")), "exposure-guardrails",
			"host app.hc.example.com is not an allowed hostname of tenant "+later+" ("+later+".example.org)")
		Expect(laterOwner.Create(ctx, ingress("own", later+"-a", later+".example.org"))).To(Succeed())
	}

	It("gives a hostname to the earlier Tenant: smaller name first", func(ctx SpecContext) {
		conflict(ctx, "hc-a", "hc-b")
		for _, name := range []string{"hc-a", "hc-b"} {
			Expect(admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
		}
		for _, name := range []string{"hc-a", "hc-b"} {
			Eventually(func() bool {
				return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: name}, &tenantryv1alpha1.Tenant{}))
			}).WithContext(ctx).Should(BeTrue())
		}
	})

	It("gives a hostname to the earlier Tenant: larger name first", func(ctx SpecContext) {
		conflict(ctx, "hc-z", "hc-y")
	})
})
