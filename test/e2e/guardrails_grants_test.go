package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// A hostname granted to one Tenant is refused to every other tenant, also
// to one without workloads.hostnames (unrestricted); the grants live in a
// table only the operator writes; and the Tenant holding a hostname keeps
// it, however old the Tenant that asks for it later.
var _ = Describe("Guardrail parameters and hostnames: the grant table", Ordered, ContinueOnFailure, func() {
	const (
		holder, free = "hg-holder", "hg-free"
		platform     = "hg-pam" // cluster-admin, not system:masters
		platBind     = "e2e-hg-platform"
		table        = "tenantry-hostname-grants"
	)
	grantTenant := func(ctx SpecContext, name string, hostnames ...tenantryv1alpha1.Hostname) {
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: name + "-owners", APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: name + "-a"}},
		}}
		if len(hostnames) > 0 {
			tn.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: hostnames}
		}
		Expect(admin.Create(ctx, tn)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
		})
	}
	owner := func(tenant string) client.Client { return clientAs(tenant+"-owner", tenant+"-owners") }
	ingress := func(ns, name string, rules []string, tls ...string) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		for _, h := range rules {
			i.Spec.Rules = append(i.Spec.Rules, networkingv1.IngressRule{Host: h})
		}
		if len(tls) > 0 {
			i.Spec.TLS = []networkingv1.IngressTLS{{Hosts: tls, SecretName: "cert"}}
		}
		return i
	}
	// granted waits until the table records hostname (its key) for tenant.
	granted := func(ctx SpecContext, key, tenant string) {
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: localcluster.OperatorNamespace, Name: table}, cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue(key, tenant))
		}).WithContext(ctx).Should(Succeed())
	}

	BeforeAll(func(ctx SpecContext) {
		grantTenant(ctx, holder, "shop.hg.example.com", "*.apps.hg.example.com")
		grantTenant(ctx, free)
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind},
			RoleRef: clusterRoleRef("cluster-admin"), Subjects: userSubject(platform)})).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: platBind}})
		})
		waitReady(ctx, holder)
		waitReady(ctx, free)
		granted(ctx, "shop.hg.example.com", holder)
		granted(ctx, "_.apps.hg.example.com", holder)
	})

	It("refuses an unrestricted tenant's owner another Tenant's hostnames, in rules and TLS", func(ctx SpecContext) {
		own, ns := owner(free), free+"-a"
		const policy, may = "hostname-grants", ", so tenant " + free + " may not serve it"
		expectDenied(own.Create(ctx, ingress(ns, "rule", []string{"shop.hg.example.com"})), policy,
			"host shop.hg.example.com is granted to tenant "+holder+may)
		expectDenied(own.Create(ctx, ingress(ns, "tls", []string{"free.example.net"}, "shop.hg.example.com")), policy,
			"host shop.hg.example.com is granted to tenant "+holder+may)
		expectDenied(own.Create(ctx, ingress(ns, "covered", []string{"x.apps.hg.example.com"})), policy,
			"host x.apps.hg.example.com is granted to tenant "+holder+" (as *.apps.hg.example.com)"+may)
		expectDenied(own.Create(ctx, ingress(ns, "covered-tls", []string{"free.example.net"}, "x.apps.hg.example.com")), policy,
			"host x.apps.hg.example.com is granted to tenant "+holder+" (as *.apps.hg.example.com)"+may)
		expectDenied(own.Create(ctx, ingress(ns, "wildcard", []string{"*.hg.example.com"})), policy,
			"host *.hg.example.com covers hostnames granted to tenant "+holder+may)
		expectDenied(own.Create(ctx, ingress(ns, "exact-wildcard", []string{"*.apps.hg.example.com"})), policy,
			"host *.apps.hg.example.com is granted to tenant "+holder+may)
		// While hostnames are granted, a catch-all would serve them.
		expectDenied(own.Create(ctx, ingress(ns, "catch-all", []string{""})), policy,
			"an Ingress rule without a host, or a defaultBackend, would serve hostnames granted to other tenants; tenant "+free+" must name its hosts")
		// Hosts nobody was granted stay open to it; the holder serves its own.
		Expect(own.Create(ctx, ingress(ns, "own", []string{"free.example.net", "deep.x.apps.hg.example.com"}, "free.example.net"))).To(Succeed())
		Expect(owner(holder).Create(ctx, ingress(holder+"-a", "shop", []string{"shop.hg.example.com", "x.apps.hg.example.com"}))).To(Succeed())
	})

	It("lets nobody but the operator write the grant table", func(ctx SpecContext) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: localcluster.OperatorNamespace, Name: table}}
		take := mergePatch(`{"data":{"shop.hg.example.com":%q}}`, free)
		Expect(owner(free).Patch(ctx, cm, take)).To(MatchError(ContainSubstring(
			rbacDenied(free+"-owner", "patch", "configmaps", "", localcluster.OperatorNamespace))))
		plat := clientAs(platform)
		const denied = "ConfigMap " + localcluster.OperatorNamespace + "/" + table + " is Tenantry's hostname grant table: only the Tenantry operator may "
		expectDenied(plat.Patch(ctx, cm, take), "protect-hostname-grants", denied+"update it")
		expectDenied(plat.Delete(ctx, cm), "protect-hostname-grants", denied+"delete it")
		// The operator's own token writes only this ConfigMap, never deletes it.
		opUser, opGroups := localcluster.ServiceAccountUser(operatorNamespace, operatorSA)
		op := clientAs(opUser, opGroups...)
		const fence = "the only ConfigMap Tenantry writes is its hostname grant table, " + localcluster.OperatorNamespace + "/" + table + ", and it never deletes it"
		// Its RBAC has no delete on ConfigMaps (the fence would refuse it too).
		Expect(op.Delete(ctx, cm, client.DryRunAll)).To(MatchError(ContainSubstring(
			rbacDenied(opUser, "delete", "configmaps", "", localcluster.OperatorNamespace))))
		other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: localcluster.OperatorNamespace, Name: "stolen"}}
		expectDenied(op.Create(ctx, other, client.DryRunAll), "operator-fence",
			"ConfigMap "+localcluster.OperatorNamespace+"/stolen: the Tenantry operator's ServiceAccount may not create it: "+fence)
		granted(ctx, "shop.hg.example.com", holder)
	})

	It("keeps a hostname with its holder when an older Tenant asks for it later", func(ctx SpecContext) {
		const older, newer = "hg-older", "hg-newer"
		grantTenant(ctx, older, "older.hg2.example.com")
		waitReady(ctx, older)
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
		grantTenant(ctx, newer, "shop.hg2.example.com")
		waitReady(ctx, newer)
		granted(ctx, "shop.hg2.example.com", newer)
		Expect(owner(newer).Create(ctx, ingress(newer+"-a", "shop", []string{"shop.hg2.example.com"}))).To(Succeed())

		Expect(admin.Patch(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: older}},
			mergePatch(`{"spec":{"workloads":{"hostnames":["older.hg2.example.com","shop.hg2.example.com"]}}}`))).To(Succeed())
		Eventually(func(g Gomega) {
			tn := &tenantryv1alpha1.Tenant{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: older}, tn)).To(Succeed())
			g.Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
			c := meta.FindStatusCondition(tn.Status.Conditions, tenantryv1alpha1.ConditionStalled)
			g.Expect(c).NotTo(BeNil(), "%s not Stalled: %+v", older, tn.Status.Conditions)
			g.Expect(c.Reason).To(Equal(tenantryv1alpha1.ReasonHostnameConflict))
			g.Expect(c.Message).To(Equal("Hostnames held by another Tenant were not granted: shop.hg2.example.com (tenant " + newer +
				"); Ingresses may not serve them until that Tenant gives them up"))
		}).WithContext(ctx).Should(Succeed())
		// The holder keeps serving it: Ready, the grant in its namespace and
		// the table, and a new Ingress for it admitted.
		waitReady(ctx, newer)
		got := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: newer + "-a"}, got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(tenantryv1alpha1.HostnamesAnnotation, "shop.hg2.example.com"))
		Consistently(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: localcluster.OperatorNamespace, Name: table}, cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue("shop.hg2.example.com", newer))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(owner(newer).Create(ctx, ingress(newer+"-a", "shop-2", []string{"shop.hg2.example.com"}))).To(Succeed())
		expectDenied(owner(older).Create(ctx, ingress(older+"-a", "shop", []string{"shop.hg2.example.com"})), "exposure-guardrails",
			"host shop.hg2.example.com is not an allowed hostname of tenant "+older+" (older.hg2.example.com)")
	})
})
