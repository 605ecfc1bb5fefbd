package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/render"
)

// errHalt ends a pass early without an error: what the pass found is
// reported and nothing more is done.
var errHalt = errors.New("halt")

// preflightNamespace is where passthrough children are dry-run: it exists
// in every cluster, and a dry run stores nothing.
const preflightNamespace = "default"

// preflight checks, before a new spec writes anything, that the API server
// accepts the objects whose content the spec passes through unchecked by
// the CRD (ResourceQuota hard limits and scopes, LimitRange items, extra
// NetworkPolicies): their validation is the API server's own, so they are
// dry-run there. A refusal stalls the Tenant with the server's message, and
// nothing of the new spec is applied — no namespace, no object — instead of
// failing half-way through. A spec already applied successfully is not
// checked again, and content already accepted once (for any Tenant) is not
// sent again.
func (r *TenantReconciler) preflight(ctx context.Context, s *scope) error {
	if s.specObserved && !refusedBefore(s.tenant) {
		return nil
	}
	var refusals []string
	for _, d := range passthroughChildren(s) {
		key, err := contentKey(d)
		if err != nil {
			return err
		}
		if r.accepted.has(key) {
			continue
		}
		switch err := r.dryRun(ctx, d); {
		case err == nil:
			r.accepted.add(key)
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			refusals = append(refusals, fmt.Sprintf("%s %s: %s", d.Kind, d.Name, refusalMessage(err)))
		case isTransient(err):
			return fmt.Errorf("dry-run %s %s: %w", d.Kind, d.Name, err)
		default:
			// Refused for where it was tried, not for what it is (a webhook
			// or policy guarding namespace default): the check cannot be
			// made here, and the apply itself will tell.
			logf.FromContext(ctx).V(1).Info("Preflight dry run not possible", "kind", d.Kind, "name", d.Name, "error", err.Error())
		}
	}
	if len(refusals) == 0 {
		return nil
	}
	sort.Strings(refusals)
	s.stall(tenantryv1alpha1.ReasonInvalidSpec, "The API server refuses "+strings.Join(refusals, "; ")+"; nothing of this spec was applied")
	s.outcome.halted = true
	return errHalt
}

// refusedBefore: the last pass stalled on this generation's spec being refused.
func refusedBefore(t *tenantryv1alpha1.Tenant) bool {
	c := meta.FindStatusCondition(t.Status.Conditions, tenantryv1alpha1.ConditionStalled)
	return c != nil && c.Reason == tenantryv1alpha1.ReasonInvalidSpec
}

// passthroughChildren are the children of one namespace whose content comes
// from the spec as is. They are the same in every namespace.
func passthroughChildren(s *scope) []render.Object {
	if len(s.tenant.Spec.Namespaces) == 0 {
		return nil
	}
	var out []render.Object
	for _, d := range render.Children(s.tenant, s.tenant.Spec.Namespaces[0].Name, s.opts, false) {
		if isPassthrough(d) {
			out = append(out, d)
		}
	}
	return out
}

// isPassthrough: the object's content is the spec's, unchecked by the CRD.
func isPassthrough(d render.Object) bool {
	return d.Kind == render.KindResourceQuota || d.Kind == render.KindLimitRange ||
		d.Kind == render.KindNetworkPolicy && d.Name != render.IsolationPolicy
}

// dryRun applies d in preflightNamespace without storing it.
func (r *TenantReconciler) dryRun(ctx context.Context, d render.Object) error {
	u, err := toUnstructured(d)
	if err != nil {
		return err
	}
	u.SetNamespace(preflightNamespace)
	u.SetOwnerReferences(nil) // the owner is cluster-scoped; keep the check about content
	return r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenantryv1alpha1.FieldManager), client.ForceOwnership, client.DryRunAll)
}

func toUnstructured(d render.Object) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(d.Apply)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(data)
}

// contentKey identifies what the API server validates of d: its kind and
// everything but metadata.
func contentKey(d render.Object) (string, error) {
	u, err := toUnstructured(d)
	if err != nil {
		return "", err
	}
	delete(u.Object, "metadata")
	data, err := json.Marshal(u.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return string(sum[:]), nil
}

// refusalMessage is the API server's list of causes, without the
// "<Kind> <name> is invalid:" preamble that names the dry-run copy.
func refusalMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if details := status.Status().Details; details != nil && len(details.Causes) > 0 {
			parts := make([]string, 0, len(details.Causes))
			for _, c := range details.Causes {
				parts = append(parts, c.Field+": "+c.Message)
			}
			return strings.Join(parts, ", ")
		}
	}
	return err.Error()
}

// acceptedContent remembers content the API server accepted, bounded: when
// full it starts over (a cost of a few dry runs, never a wrong answer).
type acceptedContent struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

const maxAcceptedContent = 4096

func (a *acceptedContent) has(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.keys[key]
	return ok
}

func (a *acceptedContent) add(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys == nil || len(a.keys) >= maxAcceptedContent {
		a.keys = map[string]struct{}{}
	}
	a.keys[key] = struct{}{}
}
