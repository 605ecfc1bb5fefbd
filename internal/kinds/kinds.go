// Package kinds is the one registry of the object kinds Tenantry manages:
// their Go types, whether they are namespaced, how Tenantry's own fields are
// extracted from a stored object, and what the operator's slim cache keeps
// of them. A new managed kind is one entry here, plus its RBAC marker
// (internal/controller), its rule in config/policies, and its resource in
// the lists of config/rbac/plan_role.yaml, operator_fence.yaml and
// protect_managed_objects.yaml, which TestManifestsListEveryKind checks.
package kinds

import (
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Names of the managed kinds.
const (
	Namespace          = "Namespace"
	ResourceQuota      = "ResourceQuota"
	LimitRange         = "LimitRange"
	RoleBinding        = "RoleBinding"
	NetworkPolicy      = "NetworkPolicy"
	ClusterRole        = "ClusterRole"
	ClusterRoleBinding = "ClusterRoleBinding"
)

// GrantTableName is the one object Tenantry keeps for all Tenants rather
// than for one: the hostname grant table, a ConfigMap in the operator's
// namespace (internal/plan.Grants). Only the operator writes it
// (config/policies: protect-managed-objects, operator-fence), its RBAC names
// only it, and the operator caches only it of all ConfigMaps.
const GrantTableName = "tenantry-hostname-grants"

// Kind describes one managed kind.
type Kind struct {
	// Name is the Kind, as in an object's TypeMeta.
	Name string
	// Resource is the API resource (plural), as kubectl prints it.
	Resource string
	// Namespaced is false for cluster-scoped kinds.
	Namespaced bool
	// New returns an empty object of the kind.
	New func() client.Object
	// Extract returns the fields a field manager owns on a stored object,
	// as an apply configuration comparable with a rendered one.
	Extract func(obj client.Object, manager string) (runtime.ApplyConfiguration, error)
	// KeepStatus copies, into the cache's slim copy, the status the
	// operator reads (a namespace's phase, a quota's usage); nil for none.
	KeepStatus func(from, to client.Object)
}

// registry lists the kinds in the order their objects are made: namespaces
// first (they hold everything else), cluster-scoped RBAC last.
var registry = []Kind{{
	Name: Namespace, Resource: "namespaces",
	New: func() client.Object { return &corev1.Namespace{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return corev1ac.ExtractNamespace(o.(*corev1.Namespace), m)
	},
	KeepStatus: func(from, to client.Object) {
		to.(*corev1.Namespace).Status = from.(*corev1.Namespace).Status
		to.SetUID(from.GetUID()) // the inventory pins namespaces by UID
		// A claimed namespace's claim proves which NamespaceClaim it is for.
		if claim, ok := from.GetAnnotations()[tenantryv1alpha1.ClaimAnnotation]; ok {
			to.SetAnnotations(map[string]string{tenantryv1alpha1.ClaimAnnotation: claim})
		}
	},
}, {
	Name: ResourceQuota, Resource: "resourcequotas", Namespaced: true,
	New: func() client.Object { return &corev1.ResourceQuota{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return corev1ac.ExtractResourceQuota(o.(*corev1.ResourceQuota), m)
	},
	KeepStatus: func(from, to client.Object) {
		// Usage and, for Tenant-scope shares, the hard values in place:
		// moving headroom is planned from them. Lists equal in content
		// share one map.
		in, out := from.(*corev1.ResourceQuota), to.(*corev1.ResourceQuota)
		out.Status.Hard = sharedLists.of(in.Status.Hard)
		out.Status.Used = sharedLists.of(in.Status.Used)
		out.Spec.Hard = sharedLists.of(in.Spec.Hard)
	},
}, {
	Name: LimitRange, Resource: "limitranges", Namespaced: true,
	New: func() client.Object { return &corev1.LimitRange{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return corev1ac.ExtractLimitRange(o.(*corev1.LimitRange), m)
	},
}, {
	Name: RoleBinding, Resource: "rolebindings", Namespaced: true,
	New: func() client.Object { return &rbacv1.RoleBinding{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return rbacv1ac.ExtractRoleBinding(o.(*rbacv1.RoleBinding), m)
	},
}, {
	Name: NetworkPolicy, Resource: "networkpolicies", Namespaced: true,
	New: func() client.Object { return &networkingv1.NetworkPolicy{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return networkingv1ac.ExtractNetworkPolicy(o.(*networkingv1.NetworkPolicy), m)
	},
}, {
	Name: ClusterRole, Resource: "clusterroles",
	New: func() client.Object { return &rbacv1.ClusterRole{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return rbacv1ac.ExtractClusterRole(o.(*rbacv1.ClusterRole), m)
	},
}, {
	Name: ClusterRoleBinding, Resource: "clusterrolebindings",
	New: func() client.Object { return &rbacv1.ClusterRoleBinding{} },
	Extract: func(o client.Object, m string) (runtime.ApplyConfiguration, error) {
		return rbacv1ac.ExtractClusterRoleBinding(o.(*rbacv1.ClusterRoleBinding), m)
	},
}}

// All returns every managed kind, namespaces first.
func All() []Kind { return registry }

// Children are the kinds a Tenant owns through a controller reference:
// every kind but Namespace.
func Children() []Kind { return registry[1:] }

var (
	byName = map[string]Kind{}
	byType = map[reflect.Type]Kind{}
)

func init() {
	for _, k := range registry {
		byName[k.Name] = k
		byType[reflect.TypeOf(k.New())] = k
	}
}

// ByName returns the kind named name; it panics for a kind Tenantry does
// not manage (a programming error: names come from this package).
func ByName(name string) Kind {
	k, ok := byName[name]
	if !ok {
		panic("kinds: unknown kind " + name)
	}
	return k
}

// Lookup returns the kind of a typed object, and false for an unmanaged type.
func Lookup(obj client.Object) (Kind, bool) {
	k, ok := byType[reflect.TypeOf(obj)]
	return k, ok
}

// Of returns the kind of a typed object of a managed kind (objects from the
// cache carry no TypeMeta); it panics for any other type.
func Of(obj client.Object) Kind {
	k, ok := Lookup(obj)
	if !ok {
		panic(fmt.Sprintf("kinds: unmanaged type %T", obj))
	}
	return k
}

// Key identifies an object in messages and maps: Kind/namespace/name.
func Key(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// KeyOf is Key of a typed object of a managed kind.
func KeyOf(obj client.Object) string { return Key(Of(obj).Name, obj.GetNamespace(), obj.GetName()) }

// WarmExtract makes each kind's Extract ready before the first drift that
// needs it: client-go parses the schema behind every Extract function on
// first use, once per process, and that parse otherwise lands on the first
// repair that reads a whole object (a tenant-wide share's, whose repair
// reads the other shares).
func WarmExtract() error {
	for _, k := range registry {
		if _, err := k.Extract(k.New(), tenantryv1alpha1.FieldManager); err != nil {
			return fmt.Errorf("extract %s: %w", k.Name, err)
		}
	}
	return nil
}
