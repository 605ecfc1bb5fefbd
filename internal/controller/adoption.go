package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/adoption"
	"github.com/tenantry/tenantry/internal/plan"
	"github.com/tenantry/tenantry/internal/render"
)

// recordAdoption writes, before Tenantry takes the namespace, what it was: a
// namespace adopted earlier (by a Tenant of the same name since deleted)
// keeps its first record, which is what it was before Tenantry. It returns
// the note for the namespace's status when this call adopted it.
func (r *TenantReconciler) recordAdoption(ctx context.Context, ex *execution, name string) (string, error) {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	rec := adoption.Record{}
	if prev, ok := ns.Annotations[tenantryv1alpha1.AdoptedAnnotation]; ok && json.Unmarshal([]byte(prev), &rec) == nil {
		if rec.TenantUID == ex.tenant.UID {
			return "", nil
		}
	} else {
		rec.Labels = maps.Clone(ns.Labels)
		rec.Annotations = maps.Clone(ns.Annotations)
	}
	adoption.DropMarks(&rec)
	rec.TenantUID = ex.tenant.UID
	data, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	ac := corev1ac.Namespace(name).WithAnnotations(map[string]string{tenantryv1alpha1.AdoptedAnnotation: string(data)})
	if err := r.Client.Apply(ctx, ac, client.FieldOwner(tenantryv1alpha1.AdoptionFieldManager), client.ForceOwnership); err != nil {
		return "", fmt.Errorf("record adoption of Namespace %s: %w", name, err)
	}
	ex.writes++
	note := adoptedNote(r.foreignBindings(ctx, name))
	if r.Recorder != nil {
		r.Recorder.Eventf(ex.tenant, nil, corev1.EventTypeNormal, tenantryv1alpha1.EventAdopted, "Adopt", "%s", "Namespace "+name+" "+note)
	}
	return note, nil
}

// adoptedNote says, in an adopted namespace's status, which RoleBindings not
// made by Tenantry keep working there: adoption adds Tenantry's, it does not
// take away what others granted.
func adoptedNote(foreign []string) string {
	if len(foreign) == 0 {
		return plan.AdoptedPrefix
	}
	return plan.AdoptedPrefix + "; RoleBindings not managed by Tenantry keep working here: " + strings.Join(foreign, ", ")
}

// foreignBindings are the RoleBindings in a namespace that are not Tenantry's.
func (r *TenantReconciler) foreignBindings(ctx context.Context, name string) []string {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(rbacv1.SchemeGroupVersion.WithKind("RoleBindingList"))
	if err := r.APIReader.List(ctx, list, client.InNamespace(name)); err != nil {
		return nil
	}
	var foreign []string
	for _, rb := range list.Items {
		if !strings.HasPrefix(rb.Name, render.ChildPrefix) {
			foreign = append(foreign, rb.Name)
		}
	}
	slices.Sort(foreign)
	return foreign
}

// restoreAdopted puts back, after a release, the labels and annotations that
// adoption overwrote and the release removed, and drops the record. Keys
// someone else holds now are left as they are.
func (r *TenantReconciler) restoreAdopted(ctx context.Context, ex *execution, name string) error {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	raw, ok := ns.Annotations[tenantryv1alpha1.AdoptedAnnotation]
	if !ok {
		return nil
	}
	rec := adoption.Record{}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		logf.FromContext(ctx).Info("Unreadable adoption record; releasing without restoring", "namespace", name)
	}
	adoption.DropMarks(&rec)
	patch := map[string]any{"annotations": map[string]any{tenantryv1alpha1.AdoptedAnnotation: nil}}
	restore := func(field string, was, now map[string]string) {
		m, _ := patch[field].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		for k, v := range was {
			if _, held := now[k]; !held {
				m[k] = v
			}
		}
		if len(m) > 0 {
			patch[field] = m
		}
	}
	restore("labels", rec.Labels, ns.Labels)
	restore("annotations", rec.Annotations, ns.Annotations)
	data, err := json.Marshal(map[string]any{"metadata": patch})
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, data),
		client.FieldOwner(tenantryv1alpha1.ReleaseFieldManager)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("restore Namespace %s: %w", name, err)
	}
	ex.writes++
	return nil
}
