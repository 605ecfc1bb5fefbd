package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/cache"
	"github.com/tenantry/tenantry/internal/drift"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/quota"
	"github.com/tenantry/tenantry/internal/render"
)

// share is one namespace's ResourceQuota of a Tenant-scope quota item.
type share struct {
	item      tenantryv1alpha1.TenantResourceQuota
	namespace string
	observed  quota.Share
	decision  quota.Decision
	// live is the quota as observed: a cached copy, or read whole (full).
	live client.Object
	full bool
}

// tenantQuotas splits every Tenant-scope quota item between the Active
// namespaces (internal/quota), and records the shares to render, the
// tenant-wide totals and the namespaces whose share is not yet enforced.
//
// Growing a share is only safe when every namespace is counted at what it
// holds now, so a plan that grows one reads them all whole first (Confirm):
// the cache can be a step behind the operator's own last writes. A Tenant
// whose shares were never made (none exists, no namespace was Active) has
// nothing to be behind on.
func (b *builder) tenantQuotas() {
	active := slices.Sorted(slices.Values(b.p.Active))
	for _, q := range b.e.Spec.ResourceQuotas {
		if q.Scope != tenantryv1alpha1.QuotaScopeTenant {
			continue
		}
		states := make([]*share, len(active))
		observed := make([]quota.Share, len(active))
		readAll, made := true, false
		for i, ns := range active {
			states[i] = b.observeShare(q, ns)
			observed[i] = states[i].observed
			readAll = readAll && states[i].full
			made = made || observed[i].Exists || b.wasActive[ns]
		}
		decisions := quota.Allocate(q.Hard, append(observed, b.leavingShares(q, active)...))[:len(observed)]
		if !readAll && made && grows(decisions, observed) {
			for _, st := range states {
				if !st.full {
					b.confirm(kinds.ResourceQuota, st.namespace, render.ChildPrefix+q.Name)
				}
			}
		}
		used := make([]corev1.ResourceList, 0, len(active))
		for i, st := range states {
			st.decision = decisions[i]
			b.shares[kinds.Key(kinds.ResourceQuota, st.namespace, render.ChildPrefix+q.Name)] = st
			used = append(used, observed[i].Used)
			if _, waiting := b.quotaWait[st.namespace]; !waiting && !b.initial && !enforced(observed[i], q.Hard) &&
				b.obs.Objects[kinds.Key(kinds.RoleBinding, st.namespace, render.OwnerBindingName)] == nil {
				b.quotaWait[st.namespace] = render.ChildPrefix + q.Name
			}
		}
		b.p.Quotas = append(b.p.Quotas, tenantryv1alpha1.TenantQuotaStatus{
			Name: q.Name, Hard: q.Hard.DeepCopy(), Used: quota.Sum(used, q.Hard)})
	}
	// A namespace whose owners wait is not in place yet: Pending, so that
	// its role bindings are new when they come, not drift.
	for i, st := range b.p.Namespaces {
		if quota, ok := b.quotaWait[st.Name]; ok && st.Phase == tenantryv1alpha1.NamespaceActive {
			b.p.Namespaces[i].Phase = tenantryv1alpha1.NamespacePending
			b.p.Namespaces[i].Message = fmt.Sprintf("waiting for the quota controller to enforce ResourceQuota %s before the role bindings are made", quota)
		}
	}
}

// leavingShares are item q's quotas in namespaces of the tenant that are no
// longer Active (being deleted, or released in this very plan): they still
// admit up to what they hold until they are gone, so it is not handed out.
func (b *builder) leavingShares(q tenantryv1alpha1.TenantResourceQuota, active []string) []quota.Share {
	var out []quota.Share
	for key, obj := range b.obs.Objects {
		rq, ok := obj.(*corev1.ResourceQuota)
		if !ok || rq.Name != render.ChildPrefix+q.Name || slices.Contains(active, rq.Namespace) {
			continue
		}
		if _, read := b.obs.Full[key]; read {
			if rq, ok = b.obs.Full[key].(*corev1.ResourceQuota); !ok || rq == nil {
				continue
			}
		}
		out = append(out, quota.Share{Namespace: rq.Namespace, Exists: true, Leaving: true,
			Spec: rq.Spec.Hard, Hard: rq.Status.Hard, Used: rq.Status.Used})
	}
	return out
}

// observeShare is a namespace's quota of item q as observed. Its values are
// Tenantry's own allocation when the fields Tenantry owns are exactly what
// rendering those values gives (the cache keeps a fingerprint of them).
func (b *builder) observeShare(q tenantryv1alpha1.TenantResourceQuota, ns string) *share {
	key := kinds.Key(kinds.ResourceQuota, ns, render.ChildPrefix+q.Name)
	st := &share{item: q, namespace: ns}
	st.live, st.full = b.obs.Full[key]
	if !st.full {
		st.live = b.obs.Objects[key]
	}
	st.observed.Namespace = ns
	rq, ok := st.live.(*corev1.ResourceQuota)
	if !ok || rq == nil {
		st.live = nil
		return st
	}
	st.observed.Exists = true
	st.observed.Spec, st.observed.Hard, st.observed.Used = rq.Spec.Hard, rq.Status.Hard, rq.Status.Used
	want, err := drift.DesiredFingerprint(render.ResourceQuota(b.e, ns, q, rq.Spec.Hard))
	if err != nil {
		return st
	}
	fp, slim := cache.Fingerprint(rq)
	if !slim {
		fp, slim = drift.Fingerprint(rq)
	}
	st.observed.Owned = slim && fp == want
	return st
}

// grows: some share is made or raised.
func grows(decisions []quota.Decision, observed []quota.Share) bool {
	for i, d := range decisions {
		if !observed[i].Exists {
			return true
		}
		for name, q := range d.Write {
			if have, ok := observed[i].Spec[name]; !ok || q.Cmp(have) > 0 {
				return true
			}
		}
	}
	return false
}

// enforced: admission enforces every resource of the item in the
// namespace (the quota controller has copied the hard values into status).
func enforced(s quota.Share, hard corev1.ResourceList) bool {
	if !s.Exists {
		return false
	}
	for name := range hard {
		if _, ok := s.Hard[name]; !ok {
			return false
		}
	}
	return true
}

// ensureShare plans one namespace's share. Moving Tenantry's own allocation
// is no drift; a share someone else changed is drift, corrected to the
// allocation decided now. A write that lowers a value is conditional on the
// version of the quota its usage was read from.
func (b *builder) ensureShare(st *share) {
	d := render.ResourceQuota(b.e, st.namespace, st.item, st.decision.Write)
	inputs := b.e.Hash + "/" + describeList(st.decision.Write)
	var a *Action
	if st.observed.Exists && st.observed.Owned && st.decision.Changes(st.observed) {
		b.desired[d.Key()] = true
		a = &Action{Op: OpApply, Why: "tenant quota share moved: " + describeMove(st.observed.Spec, st.decision.Write),
			Object: d, Inputs: inputs, Exists: true}
	} else {
		selected := st.live != nil && (!st.full || isTenants(st.live, b.e.Name))
		a = b.ensure(d, st.live, selected, inputs).action
	}
	if a == nil {
		return
	}
	if st.decision.Shrinks && st.live != nil {
		a.ResourceVersion = st.live.GetResourceVersion()
	}
	b.p.Actions = append(b.p.Actions, *a)
}

// ensureChildren plans one Active namespace's children. A new namespace's
// role bindings wait until admission enforces its Tenant-scope quotas: until
// the quota controller has synced a new ResourceQuota, admission does not
// limit it, and nobody of the tenant may act there before it does.
func (b *builder) ensureChildren(ns string) {
	held := false
	for _, d := range render.Children(b.e, ns, b.bindRoles) {
		if st, ok := b.shares[d.Key()]; ok {
			b.ensureShare(st)
			continue
		}
		live := b.obs.Objects[d.Key()]
		if d.Kind == kinds.RoleBinding && b.quotaWait[ns] != "" && live == nil {
			b.desired[d.Key()] = true // not made yet, and not pruned
			held = true
			continue
		}
		if v := b.ensure(d, live, live != nil, b.e.Hash); v.action != nil {
			b.p.Actions = append(b.p.Actions, *v.action)
		}
	}
	if held {
		b.p.Progressing = append(b.p.Progressing, fmt.Sprintf(
			"namespace %s waits for the quota controller to enforce ResourceQuota %s before its role bindings are made", ns, b.quotaWait[ns]))
	}
}

// shrinksFirst moves conditional quota shrinks ahead of every other child
// write, so that no share grows before those it takes from are lowered; a
// shrink that meets a newer version ends the pass before anything grows.
func (b *builder) shrinksFirst() {
	rank := func(a Action) int {
		switch {
		case a.Object.Kind == kinds.Namespace:
			return 0
		case a.ResourceVersion != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(b.p.Actions, func(x, y Action) int { return rank(x) - rank(y) })
}

func describeList(l corev1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for _, name := range slices.Sorted(maps.Keys(l)) {
		q := l[name]
		parts = append(parts, string(name)+"="+q.String())
	}
	return strings.Join(parts, ",")
}

func describeMove(from, to corev1.ResourceList) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(to)) {
		was, now := from[name], to[name]
		if was.Cmp(now) != 0 {
			parts = append(parts, fmt.Sprintf("%s %s→%s", name, was.String(), now.String()))
		}
	}
	return strings.Join(parts, ", ")
}
