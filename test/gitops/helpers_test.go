package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cli"
)

const tenantLabel = "tenantry.io/tenant"

// tenantNames lists the cluster's Tenants, sorted.
func (e *env) tenantNames(ctx context.Context, g Gomega) []string {
	var list tenantryv1alpha1.TenantList
	g.Expect(e.admin.List(ctx, &list)).To(Succeed())
	names := make([]string, 0, len(list.Items))
	for _, t := range list.Items {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return names
}

// expectReady asserts that every Tenant named is Ready at its current
// generation, and returns them.
func (e *env) expectReady(ctx context.Context, g Gomega, names ...string) []tenantryv1alpha1.Tenant {
	tenants := make([]tenantryv1alpha1.Tenant, 0, len(names))
	for _, name := range names {
		var t tenantryv1alpha1.Tenant
		g.Expect(e.admin.Get(ctx, client.ObjectKey{Name: name}, &t)).To(Succeed())
		g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation), "%s: Tenant %s not observed", e.name, name)
		g.Expect(meta.IsStatusConditionTrue(t.Status.Conditions, tenantryv1alpha1.ConditionReady)).To(BeTrue(),
			"%s: Tenant %s not Ready: %+v", e.name, name, t.Status.Conditions)
		tenants = append(tenants, t)
	}
	return tenants
}

// tenant reads a Tenant.
func (e *env) tenant(ctx context.Context, g Gomega, name string) *tenantryv1alpha1.Tenant {
	var t tenantryv1alpha1.Tenant
	g.Expect(e.admin.Get(ctx, client.ObjectKey{Name: name}, &t)).To(Succeed())
	return &t
}

// operatorWrites counts the operator's write requests to the API server
// (its client-go metric, by HTTP method).
func (e *env) operatorWrites(ctx context.Context) int {
	text, err := e.operator.Metrics(ctx)
	Expect(err).NotTo(HaveOccurred())
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, m := range families["rest_client_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "method" && slices.Contains([]string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, l.GetValue()) {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return int(total)
}

// versions maps every Tenant, TenantClass and object Tenantry manages to
// its resourceVersion: any write by anyone changes it.
func (e *env) versions(ctx context.Context, g Gomega) map[string]string {
	out := map[string]string{}
	managed := client.HasLabels{tenantLabel}
	lists := []struct {
		kind string
		list client.ObjectList
		opts []client.ListOption
	}{
		{"Tenant", &tenantryv1alpha1.TenantList{}, nil},
		{"TenantClass", &tenantryv1alpha1.TenantClassList{}, nil},
		{"Namespace", &corev1.NamespaceList{}, []client.ListOption{managed}},
		{"ResourceQuota", &corev1.ResourceQuotaList{}, []client.ListOption{managed}},
		{"LimitRange", &corev1.LimitRangeList{}, []client.ListOption{managed}},
		{"RoleBinding", &rbacv1.RoleBindingList{}, []client.ListOption{managed}},
		{"NetworkPolicy", &networkingv1.NetworkPolicyList{}, []client.ListOption{managed}},
		{"ClusterRole", &rbacv1.ClusterRoleList{}, []client.ListOption{managed}},
		{"ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, []client.ListOption{managed}},
	}
	for _, l := range lists {
		g.Expect(e.admin.List(ctx, l.list, l.opts...)).To(Succeed())
		items, err := meta.ExtractList(l.list)
		g.Expect(err).NotTo(HaveOccurred())
		for _, item := range items {
			obj := item.(metav1.Object)
			out[fmt.Sprintf("%s/%s/%s", l.kind, obj.GetNamespace(), obj.GetName())] = obj.GetResourceVersion()
		}
	}
	return out
}

// managers lists who wrote obj, how, and the top-level fields they own:
// "kustomize-controller Apply spec", "tenantry Apply status status" (the
// status subresource). Two managers owning the same field would fight.
func managers(obj metav1.Object) []string {
	var out []string
	for _, f := range obj.GetManagedFields() {
		m := f.Manager + " " + string(f.Operation)
		if f.Subresource != "" {
			m += " " + f.Subresource
		}
		var fields map[string]json.RawMessage
		if f.FieldsV1 != nil {
			_ = json.Unmarshal(f.FieldsV1.GetRawBytes(), &fields)
		}
		tops := slices.Sorted(maps.Keys(fields))
		for i, k := range tops {
			tops[i] = strings.TrimPrefix(k, "f:")
		}
		out = append(out, m+" "+strings.Join(tops, ","))
	}
	slices.Sort(out)
	return out
}

// plan runs `tenantry plan` as a pull request's CI job would: on the
// overlay built with kustomize, against the cluster, read-only. It returns
// the exit code and what the command printed.
func (e *env) plan(ctx context.Context, overlay string) (int, string) {
	rendered, err := e.cluster.Kubectl(ctx, "kustomize", overlay)
	Expect(err).NotTo(HaveOccurred())
	var out bytes.Buffer
	code := cli.Runner{In: strings.NewReader(rendered), Out: &out, Err: &out}.Run(ctx,
		[]string{"plan", "-f", "-", "--kubeconfig", e.cluster.KubeconfigPath, "--allowed-cluster-roles", "admin,edit,view"})
	return code, out.String()
}
