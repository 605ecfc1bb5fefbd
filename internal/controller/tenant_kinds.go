package controller

import (
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/render"
)

// kindInfo describes one kind Tenantry manages.
type kindInfo struct {
	name      string
	newObject func() client.Object
}

// kinds Tenantry manages; namespaces first (they hold everything else).
var kinds = []kindInfo{
	{render.KindNamespace, func() client.Object { return &corev1.Namespace{} }},
	{render.KindResourceQuota, func() client.Object { return &corev1.ResourceQuota{} }},
	{render.KindLimitRange, func() client.Object { return &corev1.LimitRange{} }},
	{render.KindRoleBinding, func() client.Object { return &rbacv1.RoleBinding{} }},
	{render.KindNetworkPolicy, func() client.Object { return &networkingv1.NetworkPolicy{} }},
	{render.KindClusterRole, func() client.Object { return &rbacv1.ClusterRole{} }},
	{render.KindClusterRoleBinding, func() client.Object { return &rbacv1.ClusterRoleBinding{} }},
}

// managedTypes are the kinds Tenantry writes, as empty objects.
func managedTypes() []client.Object {
	out := make([]client.Object, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.newObject())
	}
	return out
}

func kindInfoByName(name string) kindInfo {
	for _, k := range kinds {
		if k.name == name {
			return k
		}
	}
	panic("controller: unknown kind " + name)
}

// kindsByType finds a kind from an object's Go type (prune asks for every
// object it lists, on every pass).
var kindsByType = func() map[reflect.Type]kindInfo {
	m := make(map[reflect.Type]kindInfo, len(kinds))
	for _, k := range kinds {
		m[reflect.TypeOf(k.newObject())] = k
	}
	return m
}()

func kindInfoOf(obj client.Object) kindInfo {
	k, ok := kindsByType[reflect.TypeOf(obj)]
	if !ok {
		panic(fmt.Sprintf("controller: unmanaged type %T", obj))
	}
	return k
}

// kindName names the kind of a typed object (objects from the cache carry no TypeMeta).
func kindName(obj client.Object) string { return kindInfoOf(obj).name }
