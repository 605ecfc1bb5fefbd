package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// How a guarded Tenant's namespaces are reached and what they store:
// Services, Ingresses, PersistentVolumeClaims and the tenant's own
// NetworkPolicies, each admitted or refused with its exact message.
var _ = Describe("Exposure, storage and network guardrails", Ordered, ContinueOnFailure, func() {
	const (
		tenant, ns = "gx", "gx-a"
		owner      = "xena"
		ownerGroup = "gx-owners"
	)
	var own client.Client

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, guardedTenant(tenant, ns, ownerGroup))).To(Succeed())
		waitReady(ctx, tenant)
		own = clientAs(owner, ownerGroup)
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})
		})
	})

	It("refuses Service externalIPs always, and ExternalName unless listed", func(ctx SpecContext) {
		svc := func(name string, mutate func(*corev1.ServiceSpec)) *corev1.Service {
			s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
			if mutate != nil {
				mutate(&s.Spec)
			}
			return s
		}
		Expect(own.Create(ctx, svc("web", nil))).To(Succeed())
		Expect(own.Create(ctx, svc("node", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeNodePort }))).To(Succeed())
		expectDenied(own.Create(ctx, svc("alias", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "db.other-tenant.svc.cluster.local", nil
		})), "exposure-guardrails", "Service type ExternalName is not an allowed service type of tenant gx (ClusterIP, NodePort, LoadBalancer)")
		const cve = "Service spec.externalIPs (203.0.113.7) are never allowed in the namespaces of tenant gx: " +
			"an external IP captures that IP's traffic for the whole cluster (CVE-2020-8554)"
		expectDenied(own.Create(ctx, svc("capture", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"203.0.113.7"} })), "exposure-guardrails", cve)
		expectDenied(own.Patch(ctx, svc("web", nil), mergePatch(`{"spec":{"externalIPs":["203.0.113.7"]}}`)), "exposure-guardrails", cve)
	})

	It("holds Ingresses to the ingress classes and granted hostnames", func(ctx SpecContext) {
		const policy = "exposure-guardrails"
		const hosts = " (gx.example.com, *.gx.example.com)"
		ing := func(name string, class *string, hosts ...string) *networkingv1.Ingress {
			backend := &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
			i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{IngressClassName: class}}
			for _, h := range hosts {
				i.Spec.Rules = append(i.Spec.Rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{
					HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/",
						PathType: ptr.To(networkingv1.PathTypePrefix), Backend: *backend}}}}})
			}
			return i
		}
		nginx := ptr.To("nginx")
		Expect(own.Create(ctx, ing("web", nginx, "gx.example.com", "shop.gx.example.com", "*.gx.example.com"))).To(Succeed())
		expectDenied(own.Create(ctx, ing("other-class", ptr.To("traefik"), "gx.example.com")), policy,
			"ingress class traefik is not an allowed ingress class of tenant gx (nginx)")
		expectDenied(own.Create(ctx, ing("no-class", nil, "gx.example.com")), policy,
			"an Ingress must set spec.ingressClassName to an ingress class of tenant gx (nginx)")
		expectDenied(own.Create(ctx, ing("steal", nginx, "gx.example.com", "login.bank.example.com")), policy,
			"host login.bank.example.com is not an allowed hostname of tenant gx"+hosts)
		expectDenied(own.Create(ctx, ing("deep", nginx, "a.b.gx.example.com")), policy,
			"host a.b.gx.example.com is not an allowed hostname of tenant gx"+hosts)
		tls := ing("tls", nginx, "gx.example.com")
		tls.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"gx.example.com", "bank.example.com"}, SecretName: "cert"}}
		expectDenied(own.Create(ctx, tls), policy, "host bank.example.com is not an allowed hostname of tenant gx"+hosts)
		const catchAll = "an Ingress rule without a host, or a defaultBackend, would serve every hostname; tenant gx may serve only its hostnames" + hosts
		expectDenied(own.Create(ctx, ing("any-host", nginx, "")), policy, catchAll)
		def := ing("default", nginx)
		def.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		expectDenied(own.Create(ctx, def), policy, catchAll)
	})

	It("refuses claims naming a volume, and holds them to the storage classes", func(ctx SpecContext) {
		const policy = "storage-guardrails"
		pvc := func(name string, class *string, volume string) *corev1.PersistentVolumeClaim {
			return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: class, VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}}}}
		}
		const bind = "a PersistentVolumeClaim may not name spec.volumeName in the namespaces of tenant gx: binding a claim to an existing PersistentVolume is the cluster's to do"
		Expect(own.Create(ctx, pvc("data", ptr.To("standard"), ""))).To(Succeed())
		expectDenied(own.Create(ctx, pvc("steal", ptr.To("standard"), "pv-of-another-tenant")), policy, bind)
		expectDenied(own.Patch(ctx, pvc("data", nil, ""), mergePatch(`{"spec":{"volumeName":"pv-of-another-tenant"}}`)), policy, bind)
		expectDenied(own.Create(ctx, pvc("fast", ptr.To("fast"), "")), policy, "storage class fast is not an allowed storage class of tenant gx (standard)")
		expectDenied(own.Create(ctx, pvc("unclassed", nil, "")), policy, "PersistentVolumeClaims must name a storage class of tenant gx (standard)")
	})

	It("lets the owner's NetworkPolicies stay within the isolation, never widen it", func(ctx SpecContext) {
		const policy = "network-policy-guardrails"
		const ingressHint = " would widen the Tenant isolation of tenant gx: peers may be pods of this namespace, namespaces labelled tenantry.io/tenant: gx or the Tenant's allowIngressFrom (namespaceSelector {kubernetes.io/metadata.name: ingress-nginx})"
		const egressHint = " would widen the Tenant egress of tenant gx: peers may be pods of this namespace, namespaces labelled tenantry.io/tenant: gx, cluster DNS on port 53 or the Tenant's allowEgressTo (namespaceSelector {kubernetes.io/metadata.name: egress-proxy})"
		sel := func(labels map[string]string) *metav1.LabelSelector {
			return &metav1.LabelSelector{MatchLabels: labels}
		}
		np := func(name string, in []networkingv1.NetworkPolicyIngressRule, out []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
			return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: networkingv1.NetworkPolicySpec{Ingress: in, Egress: out}}
		}
		from := func(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyIngressRule {
			return []networkingv1.NetworkPolicyIngressRule{{From: peers}}
		}
		to := func(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyEgressRule {
			return []networkingv1.NetworkPolicyEgressRule{{To: peers}}
		}
		dns := intstr.FromInt32(53)
		udp := corev1.ProtocolUDP
		siblings := networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{tenantryv1alpha1.TenantLabel: tenant, corev1.LabelMetadataName: "gx-b"})}
		Expect(own.Create(ctx, np("within", from(networkingv1.NetworkPolicyPeer{PodSelector: sel(map[string]string{"app": "web"})}, siblings,
			networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{corev1.LabelMetadataName: "ingress-nginx"}), PodSelector: sel(map[string]string{"app": "nginx"})}),
			append(to(siblings, networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{corev1.LabelMetadataName: "egress-proxy"})}),
				networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel(map[string]string{corev1.LabelMetadataName: "kube-system"}),
					PodSelector: sel(map[string]string{"k8s-app": "kube-dns"})}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}}})))).To(Succeed())

		expectDenied(own.Create(ctx, np("allow-all-in", []networkingv1.NetworkPolicyIngressRule{{}}, nil)), policy,
			"ingress from every source (a rule without from)"+ingressHint)
		expectDenied(own.Create(ctx, np("allow-all-out", nil, []networkingv1.NetworkPolicyEgressRule{{}})), policy,
			"egress to every destination (a rule without to)"+egressHint)
		expectDenied(own.Create(ctx, np("all-namespaces", from(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(nil)}), nil)), policy,
			"ingress from namespaceSelector {}"+ingressHint)
		expectDenied(own.Create(ctx, np("other-tenant", nil, to(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{tenantryv1alpha1.TenantLabel: "gr"})}))), policy,
			"egress to namespaceSelector {tenantry.io/tenant: gr}"+egressHint)
		expectDenied(own.Create(ctx, np("internet", nil, to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}))), policy,
			"egress to ipBlock 0.0.0.0/0"+egressHint)
		expectDenied(own.Create(ctx, np("dns-any-port", nil, to(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{corev1.LabelMetadataName: "kube-system"}),
			PodSelector: sel(map[string]string{"k8s-app": "kube-dns"})}))), policy,
			"egress to namespaceSelector {kubernetes.io/metadata.name: kube-system} with a podSelector"+egressHint)
		// The DNS exception is port 53, not a range starting there.
		wide := intstr.FromInt32(53)
		expectDenied(own.Create(ctx, np("dns-range", nil, []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: sel(map[string]string{corev1.LabelMetadataName: "kube-system"}), PodSelector: sel(map[string]string{"k8s-app": "kube-dns"})}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &wide, EndPort: ptr.To[int32](65535)}}}})), policy,
			"egress to namespaceSelector {kubernetes.io/metadata.name: kube-system} with a podSelector"+egressHint)
		// Widening one already admitted is refused as well.
		expectDenied(own.Patch(ctx, np("within", nil, nil), mergePatch(`{"spec":{"egress":[{}]}}`)), policy,
			"egress to every destination (a rule without to)"+egressHint)

		// A policy that already leaves the isolation (written by a cluster
		// admin) stays editable, but an UPDATE may not change what its
		// peers select: a changed peer is a new one.
		legacy := np("legacy", from(
			networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a"}}}}},
			networkingv1.NetworkPolicyPeer{NamespaceSelector: sel(map[string]string{"team": "b", "env": "dev"}), PodSelector: sel(map[string]string{"app": "db"})}), nil)
		Expect(admin.Create(ctx, legacy)).To(Succeed())
		Expect(own.Patch(ctx, legacy, mergePatch(`{"metadata":{"labels":{"edited":"yes"}}}`))).To(Succeed())
		const unchanged = `{"podSelector":{"matchLabels":{"app":"db"}},"namespaceSelector":{"matchLabels":{"team":"b","env":"dev"}}}`
		expectDenied(own.Patch(ctx, legacy, mergePatch(`{"spec":{"ingress":[{"from":[`+
			`{"namespaceSelector":{"matchExpressions":[{"key":"team","operator":"Exists"}]}},`+unchanged+`]}]}}`)), policy,
			"ingress from namespaceSelector {matchExpressions}"+ingressHint)
		expectDenied(own.Patch(ctx, legacy, mergePatch(`{"spec":{"ingress":[{"from":[`+
			`{"namespaceSelector":{"matchExpressions":[{"key":"team","operator":"In","values":["a"]}]}},`+
			`{"podSelector":{},"namespaceSelector":{"matchLabels":{"team":"b","env":"dev"}}}]}]}}`)), policy,
			"ingress from namespaceSelector {env: dev, team: b} with a podSelector"+ingressHint)
	})

	It("holds Services to the Tenant's serviceTypes", func(ctx SpecContext) {
		const typed, typedNS = "gx-types", "gx-types-a"
		t := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: typed}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "Group", Name: ownerGroup, APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: typedNS}},
			Workloads:  &tenantryv1alpha1.Workloads{ServiceTypes: []tenantryv1alpha1.ServiceType{"ClusterIP"}}}}
		Expect(admin.Create(ctx, t)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = admin.Delete(ctx, t) })
		waitReady(ctx, typed)
		svc := func(name string, typ corev1.ServiceType) *corev1.Service {
			s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: typedNS, Name: name}, Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{Port: 80}}}}
			if typ == corev1.ServiceTypeExternalName {
				s.Spec.ExternalName, s.Spec.Ports = "db.example.com", nil
			}
			return s
		}
		Expect(own.Create(ctx, svc("web", corev1.ServiceTypeClusterIP))).To(Succeed())
		expectDenied(own.Create(ctx, svc("node", corev1.ServiceTypeNodePort)), "exposure-guardrails",
			"Service type NodePort is not an allowed service type of tenant gx-types (ClusterIP)")
		expectDenied(own.Create(ctx, svc("alias", corev1.ServiceTypeExternalName)), "exposure-guardrails",
			"Service type ExternalName is not an allowed service type of tenant gx-types (ClusterIP)")
		// Listed, ExternalName is admitted.
		Eventually(func() error {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(t), t); err != nil {
				return err
			}
			t.Spec.Workloads.ServiceTypes = []tenantryv1alpha1.ServiceType{"ClusterIP", "ExternalName"}
			return admin.Update(ctx, t)
		}).WithContext(ctx).Should(Succeed())
		waitReady(ctx, typed)
		Eventually(func() error { return own.Create(ctx, svc("alias", corev1.ServiceTypeExternalName)) }).WithContext(ctx).Should(Succeed())
	})
})
