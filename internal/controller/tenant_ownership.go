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
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// SystemNamespaces can never be tenant namespaces (the CRD refuses them too).
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// protection says why a namespace can never be a tenant namespace, or "".
// Besides the system namespaces and the operator's own, the operator's flags
// can protect more, by name or by label.
func (r *TenantReconciler) protection(name string, ns *corev1.Namespace) string {
	switch {
	case slices.Contains(SystemNamespaces, name):
		return "namespace " + name + " is a system namespace and can never be a tenant namespace"
	case name == r.Config.OperatorNamespace && name != "":
		return "namespace " + name + " is the Tenantry operator's own and can never be a tenant namespace"
	case ns != nil && ns.Labels[tenantryv1alpha1.ProtectedLabel] == "true":
		return "namespace " + name + " is labelled " + tenantryv1alpha1.ProtectedLabel + "=true and can never be a tenant namespace"
	case slices.Contains(r.Config.ProtectedNamespaces, name):
		return "namespace " + name + " is protected (--protected-namespaces) and can never be a tenant namespace"
	case ns != nil && r.Config.ProtectedNamespaceSelector != nil && !r.Config.ProtectedNamespaceSelector.Empty() &&
		r.Config.ProtectedNamespaceSelector.Matches(labels.Set(ns.Labels)):
		return "namespace " + name + " is protected (--protected-namespace-selector) and can never be a tenant namespace"
	}
	return ""
}

// nsVerdict is what the operator may do with one listed namespace.
type nsVerdict struct {
	phase   tenantryv1alpha1.NamespacePhase
	message string
	// manage: apply the namespace (create, adopt, or keep in line).
	manage bool
	// adopt: it exists and is not yet this Tenant's; record what adoption
	// overwrites before taking it.
	adopt bool
	// protected: it can never be a tenant namespace.
	protected bool
}

// classifyNamespace decides, from the namespace as stored (nil when absent)
// and its protection, whether the tenant may manage it. Ownership is proven
// by the Tenant's UID on the namespace, never by the name label alone: a
// namespace labelled for a Tenant of this name but another UID was left by
// an earlier Tenant, and is adopted only under adoptionPolicy IfUnowned.
func classifyNamespace(t *tenantryv1alpha1.Tenant, ns *corev1.Namespace, wasActive bool, protected string) nsVerdict {
	if protected != "" {
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict, message: protected, protected: true}
	}
	if ns == nil {
		return nsVerdict{phase: tenantryv1alpha1.NamespacePending, manage: true}
	}
	owner, labelled := ns.Labels[tenantryv1alpha1.TenantLabel]
	uid := cachedOwnerUID(ns)
	ifUnowned := t.Spec.AdoptionPolicy == tenantryv1alpha1.AdoptionPolicyIfUnowned
	active := nsVerdict{phase: tenantryv1alpha1.NamespaceActive, manage: true}
	adopt := nsVerdict{phase: tenantryv1alpha1.NamespaceActive, manage: true, adopt: true}
	switch {
	case labelled && owner != t.Name:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace belongs to tenant %s", owner)}
	case !ns.DeletionTimestamp.IsZero():
		return nsVerdict{phase: tenantryv1alpha1.NamespaceTerminating, message: "namespace is being deleted"}
	case uid == t.UID && (labelled || wasActive):
		// Ours; without the label it is drift (someone stripped it).
		return active
	case labelled && uid == "" && wasActive:
		// Managed by a version of Tenantry that did not mark UIDs: what it
		// was before is unknown, so it is taken as adopted (never deleted).
		return adopt
	case ifUnowned:
		return adopt
	case labelled && uid != "":
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace was left by an earlier Tenant named %s (uid %s); set adoptionPolicy: IfUnowned to adopt it", owner, uid)}
	case labelled:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: fmt.Sprintf("namespace carries the label of tenant %s but Tenantry did not create or adopt it for this Tenant; set adoptionPolicy: IfUnowned to adopt it", owner)}
	default:
		return nsVerdict{phase: tenantryv1alpha1.NamespaceConflict,
			message: "namespace exists and is not managed by Tenantry; set adoptionPolicy: IfUnowned to adopt it"}
	}
}

// provenOurs: the namespace carries this Tenant's label and UID.
func provenOurs(t *tenantryv1alpha1.Tenant, ns client.Object) bool {
	return ns != nil && isTenants(ns, t.Name) && cachedOwnerUID(ns) == t.UID
}

// adoptionRecord is what a namespace looked like before Tenantry adopted it:
// on release, what Tenantry took over is put back.
type adoptionRecord struct {
	TenantUID   types.UID         `json:"tenantUID"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// notRecorded are annotations an adoption record leaves out: ours, and
// kubectl's copy of the whole object, which would double its size.
var notRecorded = []string{tenantryv1alpha1.AdoptedAnnotation, tenantryv1alpha1.TenantUIDAnnotation,
	corev1.LastAppliedConfigAnnotation}

// dropMarks keeps Tenantry's own marks out of an adoption record: a
// namespace adopted from an earlier Tenant (or from a version of Tenantry
// without UIDs) carries them, and putting them back on release would leave
// it looking managed.
func dropMarks(rec *adoptionRecord) {
	delete(rec.Labels, tenantryv1alpha1.TenantLabel)
	if rec.Labels[tenantryv1alpha1.ManagedByLabel] == tenantryv1alpha1.ManagedByValue {
		delete(rec.Labels, tenantryv1alpha1.ManagedByLabel)
	}
	for _, k := range notRecorded {
		delete(rec.Annotations, k)
	}
}

// recordAdoption writes, before Tenantry takes the namespace, what it was: a
// namespace adopted earlier (by a Tenant of the same name since deleted)
// keeps its first record, which is what it was before Tenantry. It returns
// the note for the namespace's status when this call adopted it.
func (r *TenantReconciler) recordAdoption(ctx context.Context, s *scope, name string) (string, error) {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	rec := adoptionRecord{}
	if prev, ok := ns.Annotations[tenantryv1alpha1.AdoptedAnnotation]; ok && json.Unmarshal([]byte(prev), &rec) == nil {
		if rec.TenantUID == s.tenant.UID {
			return "", nil
		}
	} else {
		rec.Labels = maps.Clone(ns.Labels)
		rec.Annotations = maps.Clone(ns.Annotations)
	}
	dropMarks(&rec)
	rec.TenantUID = s.tenant.UID
	data, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	ac := corev1ac.Namespace(name).WithAnnotations(map[string]string{tenantryv1alpha1.AdoptedAnnotation: string(data)})
	if err := r.Client.Apply(ctx, ac, client.FieldOwner(tenantryv1alpha1.AdoptionFieldManager), client.ForceOwnership); err != nil {
		return "", fmt.Errorf("record adoption of Namespace %s: %w", name, err)
	}
	s.writes++
	note := adoptedNote(r.foreignBindings(ctx, name))
	if r.Recorder != nil {
		r.Recorder.Eventf(s.tenant, nil, corev1.EventTypeNormal, tenantryv1alpha1.EventAdopted, "Adopt", "%s", "Namespace "+name+" "+note)
	}
	return note, nil
}

// adoptedPrefix starts the status message of an adopted namespace.
const adoptedPrefix = "adopted"

// adoptedNote says, in an adopted namespace's status, which RoleBindings not
// made by Tenantry keep working there: adoption adds Tenantry's, it does not
// take away what others granted.
func adoptedNote(foreign []string) string {
	if len(foreign) == 0 {
		return adoptedPrefix
	}
	return adoptedPrefix + "; RoleBindings not managed by Tenantry keep working here: " + strings.Join(foreign, ", ")
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

// adoptedMessage is the status message an Active namespace keeps: the note
// made when it was adopted, while it stays adopted.
func adoptedMessage(s *scope, name string) string {
	if e, ok := s.inventory[name]; !ok || e.Origin != tenantryv1alpha1.NamespaceAdopted {
		return ""
	}
	for _, st := range s.tenant.Status.Namespaces {
		if st.Name == name && strings.HasPrefix(st.Message, adoptedPrefix) {
			return st.Message
		}
	}
	return adoptedPrefix
}

// restoreAdopted puts back, after a release, the labels and annotations that
// adoption overwrote and the release removed, and drops the record. Keys
// someone else holds now are left as they are.
func (r *TenantReconciler) restoreAdopted(ctx context.Context, s *scope, name string) error {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	raw, ok := ns.Annotations[tenantryv1alpha1.AdoptedAnnotation]
	if !ok {
		return nil
	}
	rec := adoptionRecord{}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		logf.FromContext(ctx).Info("Unreadable adoption record; releasing without restoring", "namespace", name)
	}
	dropMarks(&rec)
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
	s.writes++
	return nil
}
