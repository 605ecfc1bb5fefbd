package gitops

import (
	"context"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Flux's kinds, read and written as unstructured objects: the operator's
// go.mod stays free of Flux's API modules.
var (
	gitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
	kustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
)

// requestedAtAnnotation asks a Flux object to reconcile now (what `flux
// reconcile` and the notification-controller's webhook receivers set).
const requestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"

// syncSpec is a GitRepository and a Kustomization of the same name.
type syncSpec struct {
	namespace, name, url, path string
	// serviceAccount, when set, is the identity the Kustomization applies as.
	serviceAccount string
}

// applySync creates the GitRepository and the Kustomization (wait: true,
// prune: true). Intervals are long: the tests nudge the source after each
// commit, as a webhook receiver would, so timings do not depend on polling.
func (e *env) applySync(ctx context.Context, s syncSpec) {
	src := newFluxObject(gitRepositoryGVK, s.namespace, s.name, map[string]any{
		"url":      s.url,
		"ref":      map[string]any{"branch": "main"},
		"interval": "10m",
		"timeout":  "30s",
	})
	ks := map[string]any{
		"sourceRef":     map[string]any{"kind": "GitRepository", "name": s.name},
		"path":          s.path,
		"prune":         true,
		"wait":          true,
		"interval":      "10m",
		"retryInterval": "5s",
		"timeout":       "2m",
	}
	if s.serviceAccount != "" {
		ks["serviceAccountName"] = s.serviceAccount
	}
	for _, obj := range []*unstructured.Unstructured{src, newFluxObject(kustomizationGVK, s.namespace, s.name, ks)} {
		Expect(e.admin.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("gitops-test"), client.ForceOwnership)).To(Succeed())
	}
}

// newFluxObject is an unstructured object of kind gvk (a Flux kind, or any
// other read raw).
func newFluxObject(gvk schema.GroupVersionKind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	obj.SetGroupVersionKind(gvk)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return obj
}

// nudge asks a Flux object to reconcile now; Flux copies the value it
// returns into status.lastHandledReconcileAt once it has.
func (e *env) nudge(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) string {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	requested := time.Now().Format(time.RFC3339Nano)
	patch := client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+requestedAtAnnotation+`":"`+requested+`"}}}`))
	Expect(e.admin.Patch(ctx, obj, patch)).To(Succeed())
	return requested
}

// fluxStatus is what a Flux object's status says.
type fluxStatus struct {
	ready, healthy      *metav1.Condition
	lastAppliedRevision string
	lastHandled         string
}

// readyIs reports whether Ready has status s.
func (f fluxStatus) readyIs(s metav1.ConditionStatus) bool {
	return f.ready != nil && f.ready.Status == s
}

func (f fluxStatus) String() string {
	if f.ready == nil {
		return "no Ready condition"
	}
	return string(f.ready.Status) + " " + f.ready.Reason + ": " + f.ready.Message
}

func (e *env) fluxStatus(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (fluxStatus, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := e.admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		return fluxStatus{}, err
	}
	var s fluxStatus
	s.lastAppliedRevision, _, _ = unstructured.NestedString(obj.Object, "status", "lastAppliedRevision")
	s.lastHandled, _, _ = unstructured.NestedString(obj.Object, "status", "lastHandledReconcileAt")
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var conds []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := metav1.Condition{}
		c.Type, _, _ = unstructured.NestedString(m, "type")
		status, _, _ := unstructured.NestedString(m, "status")
		c.Status = metav1.ConditionStatus(status)
		c.Reason, _, _ = unstructured.NestedString(m, "reason")
		c.Message, _, _ = unstructured.NestedString(m, "message")
		if ts, _, _ := unstructured.NestedString(m, "lastTransitionTime"); ts != "" {
			t, _ := time.Parse(time.RFC3339, ts)
			c.LastTransitionTime = metav1.NewTime(t)
		}
		conds = append(conds, c)
	}
	s.ready = meta.FindStatusCondition(conds, "Ready")
	s.healthy = meta.FindStatusCondition(conds, "Healthy")
	return s, nil
}

// kustomization is the Kustomization's status (failing the assertion on a
// read error).
func (e *env) kustomization(ctx context.Context, g Gomega, namespace, name string) fluxStatus {
	s, err := e.fluxStatus(ctx, kustomizationGVK, namespace, name)
	g.Expect(err).NotTo(HaveOccurred())
	return s
}

// revisionRef is how Flux names a Git revision in its status.
func revisionRef(sha string) string { return "main@sha1:" + sha }
