package controller

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/render"
)

// TakeoverFieldManager puts back, on an object Tenantry had to replace, the
// annotations its previous writers had set.
const TakeoverFieldManager = "tenantry-takeover"

// replace deletes the live object at d's name, pinned to its UID, and applies
// d afresh. Every name Tenantry renders is reserved to it (tenantry-* in a
// tenant namespace, tenantry:tenant:<name> cluster-wide), so what stands
// there is taken over; annotations others set on it are kept.
func (r *TenantReconciler) replace(ctx context.Context, ex *execution, d render.Object) error {
	live, err := r.source().Read(ctx, d.Kind, d.Namespace, d.Name)
	if err != nil || live == nil {
		return err
	}
	uid := live.GetUID()
	if err := r.Client.Delete(ctx, live, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return err
	}
	ex.writes++
	if err := r.Client.Apply(ctx, d.Apply, client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return err
	}
	logf.FromContext(ctx).Info("Replaced "+d.Kind+" whose immutable fields differed", "namespace", d.Namespace, "name", d.Name)
	kept := map[string]string{}
	for k, v := range live.GetAnnotations() {
		if k != corev1.LastAppliedConfigAnnotation {
			kept[k] = v
		}
	}
	if len(kept) == 0 {
		return nil
	}
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kept}})
	if err != nil {
		return err
	}
	obj := kinds.ByName(d.Kind).New()
	obj.SetNamespace(d.Namespace)
	obj.SetName(d.Name)
	ex.writes++
	return r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data), client.FieldOwner(TakeoverFieldManager))
}
