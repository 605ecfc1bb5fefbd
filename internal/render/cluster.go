package render

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/kinds"
)

// ClusterRBAC renders the per-tenant ClusterRole and ClusterRoleBinding
// tenantry:tenant:<name>: owners may get and watch their own Tenant and get
// namespaces (only those that are the tenant's: never one in conflict), and
// nothing else at cluster scope.
func ClusterRBAC(t *effective.Tenant, namespaces []string) []Object {
	name := ClusterRBACName(t.Name)
	rules := []*rbacv1ac.PolicyRuleApplyConfiguration{
		rbacv1ac.PolicyRule().
			WithAPIGroups(tenantryv1alpha1.GroupVersion.Group).
			WithResources("tenants").
			WithResourceNames(t.Name).
			WithVerbs("get", "watch"),
	}
	// An empty resourceNames would mean every namespace: leave the rule out.
	if len(namespaces) > 0 {
		rules = append(rules, rbacv1ac.PolicyRule().
			WithAPIGroups(corev1.GroupName).
			WithResources("namespaces").
			WithResourceNames(namespaces...).
			WithVerbs("get"))
	}
	role := rbacv1ac.ClusterRole(name).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithRules(rules...)
	binding := rbacv1ac.ClusterRoleBinding(name).
		WithLabels(ManagedLabels(t.Name)).
		WithOwnerReferences(ownerReference(t)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup(rbacv1.GroupName).
			WithKind("ClusterRole").
			WithName(name)).
		WithSubjects(subjectsApply(t.Spec.Owners)...)
	return []Object{
		{Kind: kinds.ClusterRole, Name: name, Apply: role},
		{Kind: kinds.ClusterRoleBinding, Name: name, Apply: binding},
	}
}
