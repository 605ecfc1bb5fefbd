package controller

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
)

// guardrails are every workload guardrail, with hostnames of the tenant's own.
func guardrails(tenant string) *tenantryv1alpha1.Workloads {
	return &tenantryv1alpha1.Workloads{
		Registries:      []tenantryv1alpha1.RegistryPrefix{"ghcr.io/" + tenantryv1alpha1.RegistryPrefix(tenant) + "/"},
		ImagePullPolicy: tenantryv1alpha1.ImagePullAlways,
		StorageClasses:  []tenantryv1alpha1.ClassName{"standard"},
		PriorityClasses: []tenantryv1alpha1.ClassName{"tenant-normal"},
		RuntimeClasses:  []tenantryv1alpha1.ClassName{"gvisor"},
		IngressClasses:  []tenantryv1alpha1.ClassName{"nginx"},
		Hostnames:       []tenantryv1alpha1.Hostname{tenantryv1alpha1.Hostname(tenant + ".example.com"), tenantryv1alpha1.Hostname("*." + tenant + ".example.com")},
		ServiceTypes:    []tenantryv1alpha1.ServiceType{"ClusterIP"},
		NodeSelector:    map[string]tenantryv1alpha1.LabelValue{"pool": tenantryv1alpha1.LabelValue(tenant)},
		Tolerations:     []tenantryv1alpha1.Toleration{{Key: "pool", Operator: "Equal", Value: tenantryv1alpha1.LabelValue(tenant), Effect: "NoSchedule"}},
	}
}

// tenantryAnnotations are a namespace's tenantry.io/ annotations but its UID mark.
func tenantryAnnotations(ns *corev1.Namespace) map[string]string {
	out := map[string]string{}
	for k, v := range ns.Annotations {
		if k != tenantryv1alpha1.TenantUIDAnnotation && len(k) > len("tenantry.io/") && k[:len("tenantry.io/")] == "tenantry.io/" {
			out[k] = v
		}
	}
	return out
}

func TestGuardrailsOnNamespacesAndDrift(t *testing.T) {
	tn := fullTenant("guarded")
	createTenant(t, tn)
	waitReady(t, tn.Name)
	want := map[string]string{
		"tenantry.io/registries":        "ghcr.io/guarded/",
		"tenantry.io/image-pull-policy": "Always",
		"tenantry.io/storage-classes":   "standard",
		"tenantry.io/priority-classes":  "tenant-normal",
		"tenantry.io/runtime-classes":   "gvisor",
		"tenantry.io/ingress-classes":   "nginx",
		"tenantry.io/hostnames":         "guarded.example.com,*.guarded.example.com",
		"tenantry.io/service-types":     "ClusterIP",
		"tenantry.io/node-selector":     "pool=guarded",
		"tenantry.io/tolerations":       "pool=guarded:NoSchedule",
		"tenantry.io/isolation":         "Tenant",
		"tenantry.io/egress":            "Tenant",
		"tenantry.io/allow-egress-to":   "ns:kubernetes.io/metadata.name=egress-proxy pod:",
	}
	for _, name := range []string{"guarded-dev", "guarded-prod"} {
		if got := tenantryAnnotations(get(t, &corev1.Namespace{}, "", name)); !maps.Equal(got, want) {
			t.Fatalf("%s annotations:\n got %v\nwant %v", name, got, want)
		}
	}
	iso := get(t, &networkingv1.NetworkPolicy{}, "guarded-dev", "tenantry-isolation")
	if !slices.Equal(iso.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) ||
		len(iso.Spec.Egress) != 2 || len(iso.Spec.Egress[0].To) != 2 || iso.Spec.Egress[1].Ports[0].Port.IntValue() != 53 {
		t.Fatalf("isolation policy = %+v", iso.Spec)
	}

	// An admin (system:masters, the only one the policies let through)
	// widens the registries: restored, and recorded as drift by its writer.
	ctx := context.Background()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"tenantry.io/registries":"docker.io/"}}}`))
	if err := k8s.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "guarded-dev"}}, patch, client.FieldOwner(intruder)); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		ns := &corev1.Namespace{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: "guarded-dev"}, ns)).To(Succeed())
		g.Expect(ns.Annotations).To(HaveKeyWithValue("tenantry.io/registries", "ghcr.io/guarded/"))
		got := getTenant(g, tn.Name)
		g.Expect(got.Status.Drift).To(ContainElement(And(
			HaveField("Kind", kinds.Namespace), HaveField("Name", "guarded-dev"), HaveField("Manager", intruder),
			HaveField("Action", tenantryv1alpha1.DriftActionCorrected),
			HaveField("Fields", []string{`metadata.annotations["tenantry.io/registries"]`}))))
	}, eventually).Should(Succeed())

	// Changing a guardrail rewrites the namespaces, nothing else.
	waitSettled(t, time.Second)
	before := writes.snapshot()
	updateTenant(t, tn.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.Workloads.Registries = append(tn.Spec.Workloads.Registries, "registry.example.com/")
	})
	waitReady(t, tn.Name)
	waitSettled(t, time.Second)
	if objects, status, _ := applies(writes.since(before)); objects != 2 || status != 1 {
		t.Fatalf("a guardrail change: want 2 namespace applies and 1 status write, got %v", writes.since(before))
	}
	if got := get(t, &corev1.Namespace{}, "", "guarded-prod").Annotations["tenantry.io/registries"]; got != "ghcr.io/guarded/,registry.example.com/" {
		t.Fatalf("registries annotation = %q", got)
	}
}

// Of two Tenants asking for one hostname the earlier holds it; when it gives
// the hostname up, the later one is reconciled at once (the hostname
// watch), not at its next stalled retry.
func TestHostnameConflictResolvesWhenTheHolderLetsGo(t *testing.T) {
	first := newTenant("host-first", "host-first-a")
	first.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: []tenantryv1alpha1.Hostname{"shared.hc.test"}}
	createTenant(t, first)
	waitReady(t, first.Name)
	second := newTenant("host-second", "host-second-a")
	second.Spec.Workloads = &tenantryv1alpha1.Workloads{Hostnames: []tenantryv1alpha1.Hostname{"*.hc.test", "second.example.org"}}
	createTenant(t, second)
	got := waitCondition(t, second.Name, tenantryv1alpha1.ConditionStalled, metav1.ConditionTrue, tenantryv1alpha1.ReasonHostnameConflict)
	const msg = "Hostnames held by another Tenant were not granted: *.hc.test (tenant host-first has shared.hc.test); " +
		"Ingresses may not serve them until that Tenant gives them up"
	if c := condition(got, tenantryv1alpha1.ConditionStalled); c.Message != msg {
		t.Fatalf("Stalled message = %q", c.Message)
	}
	if c := condition(got, tenantryv1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != tenantryv1alpha1.ReasonHostnameConflict {
		t.Fatalf("Ready = %+v", c)
	}
	// Everything else is made; only the hostname is withheld.
	get(t, &networkingv1.NetworkPolicy{}, "host-second-a", "tenantry-isolation")
	if v := get(t, &corev1.Namespace{}, "", "host-second-a").Annotations["tenantry.io/hostnames"]; v != "second.example.org" {
		t.Fatalf("the later Tenant's hostnames annotation = %q", v)
	}
	if v := get(t, &corev1.Namespace{}, "", "host-first-a").Annotations["tenantry.io/hostnames"]; v != "shared.hc.test" {
		t.Fatalf("the earlier Tenant's hostnames annotation = %q", v)
	}

	start := time.Now()
	updateTenant(t, first.Name, func(tn *tenantryv1alpha1.Tenant) {
		tn.Spec.Workloads.Hostnames = []tenantryv1alpha1.Hostname{"first.example.net"}
	})
	waitReady(t, second.Name)
	g := NewWithT(t)
	g.Eventually(func() string {
		return get(t, &corev1.Namespace{}, "", "host-second-a").Annotations["tenantry.io/hostnames"]
	}, eventually).Should(Equal("*.hc.test,second.example.org"))
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the later Tenant waited %s for the hostname: the watch did not requeue it", took)
	}
	// The grant is no drift.
	if d := getTenant(g, second.Name).Status.Drift; len(d) != 0 {
		t.Fatalf("a granted hostname was recorded as drift: %+v", d)
	}
}
