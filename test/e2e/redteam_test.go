package e2e

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/localcluster"
)

// What a red-team pass against a running install got through, each now
// refused: the operator's token adopting and deleting a namespace in two
// steps, aggregating its ClusterRole into admin, a platform engineer forging
// an adoption record through the spec or bloating a Tenant past the size its
// status can be written at.
var _ = Describe("Red-team findings", Ordered, ContinueOnFailure, func() {
	const (
		plain     = "rt-plain"     // a namespace no Tenant owns, with data
		protected = "rt-protected" // labelled tenantry.io/protected=true
		engineer  = "rt-pete"      // holds tenantry-tenant-editor-role only
		editor    = "e2e-rt-editor"
		fence     = "operator-fence"
		sa        = ": the Tenantry operator's ServiceAccount may not "
	)
	var op, eng client.Client

	BeforeAll(func(ctx SpecContext) {
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}})).To(Succeed())
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: protected,
			Labels: map[string]string{tenantryv1alpha1.ProtectedLabel: "true"}}})).To(Succeed())
		Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editor},
			RoleRef: clusterRoleRef("tenantry-tenant-editor-role"), Subjects: userSubject(engineer)})).To(Succeed())
		user, groups := localcluster.ServiceAccountUser(operatorNamespace, operatorSA)
		op, eng = clientAs(user, groups...), clientAs(engineer)
		DeferCleanup(func(ctx SpecContext) {
			_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editor}})
			for _, name := range []string{plain, protected} {
				_ = admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
			}
		})
	})

	It("stops the operator's token taking a namespace without recording it, and deleting one it adopted", func(ctx SpecContext) {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plain}}
		const unrecorded = "Namespace " + plain + sa + "update it: Tenantry takes an existing namespace only after recording what it was (annotation tenantry.io/adopted)"
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":"rt"}}}`)), fence, unrecorded)
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/tenant-uid":"u"}}}`)), fence, unrecorded)

		// A record with a tenant-uid but no label cannot shed the record either.
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":"{}","tenantry.io/tenant-uid":"u"}}}`))).To(Succeed())
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":null}}}`)), fence,
			"Namespace "+plain+sa+"update it: the adoption record (annotation tenantry.io/adopted) goes only when the namespace is released")
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":null,"tenantry.io/tenant-uid":null}}}`))).To(Succeed())

		// What the operator does to adopt: the record first, then its marks.
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":"{}"}}}`))).To(Succeed())
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":"rt"},"annotations":{"tenantry.io/tenant-uid":"u"}}}`))).To(Succeed())
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":null}}}`)), fence,
			"Namespace "+plain+sa+"update it: the adoption record (annotation tenantry.io/adopted) goes only when the namespace is released")
		expectDenied(op.Delete(ctx, nsObj), fence,
			"Namespace "+plain+sa+"delete it: Tenantry adopted it (annotation tenantry.io/adopted), so it only ever releases it")
		// The record cannot be traded for a tenant-uid that would let the
		// label back on without it (found by a second red-team pass).
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":null},"annotations":{"tenantry.io/adopted":null,"tenantry.io/tenant-uid":"u"}}}`)), fence,
			"Namespace "+plain+sa+"update it: the adoption record (annotation tenantry.io/adopted) goes only when the namespace is released")
		// Releasing it is allowed: marks first, then the record.
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"labels":{"tenantry.io/tenant":null},"annotations":{"tenantry.io/tenant-uid":null}}}`))).To(Succeed())
		Expect(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":null}}}`))).To(Succeed())
	})

	It("keeps the operator's token off namespaces labelled tenantry.io/protected", func(ctx SpecContext) {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: protected}}
		const marked = sa + "update it: it is labelled tenantry.io/protected=true, so it is never a tenant namespace"
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"annotations":{"tenantry.io/adopted":"{}"}}}`)), fence, "Namespace "+protected+marked)
		expectDenied(op.Patch(ctx, nsObj, mergePatch(`{"metadata":{"labels":{"tenantry.io/protected":null}}}`)), fence, "Namespace "+protected+marked)
	})

	It("keeps the operator's ClusterRoles out of aggregation", func(ctx SpecContext) {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenantry:tenant:rt-agg",
			Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}, ResourceNames: []string{"kube-system"}}}}
		expectDenied(op.Create(ctx, role), fence,
			"ClusterRole tenantry:tenant:rt-agg"+sa+"create it: a ClusterRole of Tenantry carries only Tenantry's labels, so it is never aggregated into another role")
	})

	It("refuses a spec that forges an adoption record, or binds anonymous requests", func(ctx SpecContext) {
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "rt-forge"}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "User", Name: engineer, APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: plain, Annotations: map[string]string{tenantryv1alpha1.AdoptedAnnotation: "x"}}},
		}}
		err := eng.Create(ctx, tn)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("spec.namespaces[0].annotations: Invalid value: annotations under tenantry.io/ are reserved")))

		tn.Spec.Namespaces[0].Annotations = nil
		tn.Spec.RoleBindings = []tenantryv1alpha1.TenantRoleBinding{{Name: "everyone", ClusterRole: "admin",
			Subjects: []tenantryv1alpha1.Subject{{Kind: "Group", Name: "system:unauthenticated", APIGroup: rbacv1.GroupName}}}}
		err = eng.Create(ctx, tn)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("spec.roleBindings[0].subjects[0]: Invalid value: all users, all service accounts and anonymous requests (Group system:authenticated, system:unauthenticated, system:serviceaccounts; User system:anonymous) are never bound in a tenant namespace: name the users, groups or service accounts")))
	})

	It("refuses a Tenant bloated with finalizers", func(ctx SpecContext) {
		finalizers := make([]string, 17)
		for i := range finalizers {
			finalizers[i] = fmt.Sprintf("example.com/f%d", i)
		}
		tn := &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "rt-bloat", Finalizers: finalizers}, Spec: tenantryv1alpha1.TenantSpec{
			Owners:     []tenantryv1alpha1.Subject{{Kind: "User", Name: engineer, APIGroup: rbacv1.GroupName}},
			Namespaces: []tenantryv1alpha1.TenantNamespace{{Name: "rt-bloat-a"}},
		}}
		expectDenied(eng.Create(ctx, tn), "protect-tenants",
			"Tenant rt-bloat: at most 16 finalizers (it has 17); more could make it too large for the operator to write its status")
	})
})
