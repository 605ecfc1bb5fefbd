// Package quota splits a Tenant-scope quota item's hard limits between the
// tenant's namespaces. Each namespace holds a native ResourceQuota whose hard
// values are its share; the API server's own quota admission enforces each
// share atomically, so the tenant's total can never be overshot as long as
// the shares never add up to more than the total. Allocate keeps that true
// however its writes interleave with admissions:
//
//   - A namespace is counted at the most it may hold right now: the larger of
//     its spec.hard (which the quota controller copies into status.hard), its
//     status.hard (what admission enforces until then) and its usage (already
//     admitted). A share only grows within what that leaves of the total.
//   - Shrinks are written before growth can use what they free: a grow is
//     held back until the namespaces it takes from have enforced their new,
//     lower share, and a shrink is conditional on the version of the quota it
//     was computed from (the caller's job: admission updates that object).
//
// The policy: half of the tenant's unused total is split evenly (every
// namespace can start work), half in proportion to usage (busy namespaces
// get room to grow), in steps of a pod's average request (admission knows
// no partial pods). An allocation is kept, with no write, while every
// namespace has at least half the headroom the policy would give it now; only
// then are shares moved. When the total is at or below usage (it was
// lowered), each namespace keeps at most its usage, in proportion to it:
// nothing running is evicted, nothing new is admitted until usage drains.
package quota

import (
	"maps"
	"math/big"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Share is one namespace's ResourceQuota for the item, as observed.
type Share struct {
	Namespace string
	// Exists: the ResourceQuota exists.
	Exists bool
	// Spec is its spec.hard; Owned says those values are Tenantry's own
	// allocation (no one else changed them), so the policy may keep them.
	Spec  corev1.ResourceList
	Owned bool
	// Hard and Used are its status: what admission enforces and what it
	// counted. A quota the controller has not synced yet has neither.
	Hard, Used corev1.ResourceList
	// Leaving: the namespace is no longer one of the tenant's Active ones
	// (it is being deleted or released) but its quota still admits up to
	// what it holds: counted, never given a share, never written.
	Leaving bool
}

// Decision is what one namespace's ResourceQuota gets.
type Decision struct {
	// Target is the share the policy wants for the namespace.
	Target corev1.ResourceList
	// Write is what to apply now: Target, with growth that is not yet safe
	// held at the current value.
	Write corev1.ResourceList
	// Shrinks: Write lowers a value, so it must be conditional on the
	// observed version of the quota.
	Shrinks bool
	// Held names the resources whose growth waits.
	Held []corev1.ResourceName
}

// Changes reports whether Write differs from what the namespace has.
func (d Decision) Changes(s Share) bool {
	return !s.Exists || !equalLists(d.Write, s.Spec)
}

// Allocate decides every namespace's share of total. shares must be sorted
// by namespace (the order breaks ties). Pure.
func Allocate(total corev1.ResourceList, shares []Share) []Decision {
	out := make([]Decision, len(shares))
	for i := range out {
		out[i] = Decision{Target: corev1.ResourceList{}, Write: corev1.ResourceList{}}
	}
	for _, name := range slices.Sorted(maps.Keys(total)) {
		allocateResource(name, total[name], shares, out)
	}
	return out
}

// column is one resource across the namespaces, in integer units.
type column struct {
	total            int64
	used, spec, hard []int64
	exists, owned    []bool
	// quantum is the step headroom is handed out in: the most a pod of the
	// tenant asks for on average, so a share's headroom fits one.
	quantum int64
}

func allocateResource(name corev1.ResourceName, total resource.Quantity, shares []Share, out []Decision) {
	u := unitOf(name, total)
	col := column{total: u.count(total), quantum: quantum(name, u, shares)}
	// What leaving namespaces may still hold comes off the total first.
	var staying []int
	for i, s := range shares {
		if !s.Leaving {
			staying = append(staying, i)
			continue
		}
		hard, ok := s.Hard[name]
		if !ok {
			hard = s.Spec[name]
		}
		col.total -= max(u.of(s.Spec, name), u.count(hard), u.of(s.Used, name))
		out[i].Target[name], out[i].Write[name] = s.Spec[name], s.Spec[name]
	}
	col.total = max(col.total, 0)
	for _, i := range staying {
		s := shares[i]
		col.used = append(col.used, u.of(s.Used, name))
		col.spec = append(col.spec, u.of(s.Spec, name))
		_, hasSpec := s.Spec[name]
		hard, hasHard := s.Hard[name]
		h := u.count(hard)
		if !hasHard {
			// Not synced yet: admission will enforce the spec once it is.
			h = u.of(s.Spec, name)
		}
		col.hard = append(col.hard, h)
		col.exists = append(col.exists, s.Exists)
		col.owned = append(col.owned, s.Exists && s.Owned && hasSpec)
	}
	target := col.target()
	write := col.step(target)
	for k, i := range staying {
		out[i].Target[name] = u.quantity(target[k])
		out[i].Write[name] = u.quantity(write[k])
		if shares[i].Exists && write[k] < col.spec[k] {
			out[i].Shrinks = true
		}
		if write[k] < target[k] {
			out[i].Held = append(out[i].Held, name)
		}
	}
}

// target is the policy's share per namespace: the current allocation while
// it is healthy, else a fresh split.
func (c column) target() []int64 {
	ideal := c.split()
	if c.healthy(ideal) {
		return slices.Clone(c.spec)
	}
	return ideal
}

// split is a fresh allocation of the total, handed out in quanta.
func (c column) split() []int64 {
	n := int64(len(c.used))
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	used := sum(c.used)
	if used >= c.total {
		// Over the total (it was lowered): at most each namespace's usage,
		// in proportion to it, so nothing new is admitted anywhere.
		for i, u := range c.used {
			out[i] = mulDiv(c.total, u, used)
		}
		return out
	}
	copy(out, c.used)
	free := c.total - used
	quanta, rest := free/c.quantum, free%c.quantum
	busiest := c.busiest()
	give := func(i int, k int64) { out[i] += k * c.quantum }
	even := quanta / 2
	if used == 0 {
		even = quanta
	}
	for i := range out {
		give(i, even/n)
		if int64(i) < even%n {
			give(i, 1)
		}
	}
	byUse, given := quanta-even, int64(0)
	if byUse > 0 {
		for i, u := range c.used {
			k := mulDiv(byUse, u, used)
			give(i, k)
			given += k
		}
		// What rounding left goes to the busiest namespaces, one each.
		for k := int64(0); k < byUse-given; k++ {
			give(busiest[k%n], 1)
		}
	}
	out[busiest[0]] += rest
	return out
}

// busiest orders the namespaces by usage, the busiest first.
func (c column) busiest() []int {
	order := make([]int, len(c.used))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp64(c.used[b], c.used[a]) })
	return order
}

// healthy: the current allocation is Tenantry's own, within the total, and
// leaves no namespace short. Under the total, it hands out all of it and
// every namespace keeps at least half the headroom a fresh split would give
// it; at or over the total, no namespace can admit anything.
func (c column) healthy(ideal []int64) bool {
	if !allTrue(c.owned) || sum(c.spec) > c.total {
		return false
	}
	used := sum(c.used)
	for i := range c.spec {
		if used >= c.total {
			if c.spec[i] > c.used[i] {
				return false
			}
			continue
		}
		want := ideal[i] - c.used[i]
		if c.spec[i]-c.used[i] < max((want+1)/2, min(want, c.quantum)) {
			return false
		}
	}
	return used >= c.total || sum(c.spec) == c.total
}

// step is what can be written now: every shrink, and growth only within
// what the total leaves once each namespace is counted at the most it may
// hold (see the package comment).
func (c column) step(target []int64) []int64 {
	write := make([]int64, len(target))
	held := make([]int64, len(target)) // the most each may hold after the shrinks
	for i := range target {
		write[i] = target[i]
		if c.exists[i] {
			write[i] = min(target[i], c.spec[i])
		} else {
			write[i] = 0
		}
		held[i] = max(write[i], c.hard[i], c.used[i])
		if !c.exists[i] {
			held[i] = c.used[i]
		}
	}
	slack := c.total - sum(held)
	for _, i := range growOrder(c, target, write) {
		after := max(target[i], held[i])
		if need := after - held[i]; need <= slack {
			write[i] = target[i]
			slack -= need
			held[i] = after
		}
	}
	return write
}

// growOrder lists the namespaces that would grow, the ones with the least
// headroom first.
func growOrder(c column, target, write []int64) []int {
	var out []int
	for i := range target {
		if target[i] > write[i] {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp64(write[a]-c.used[a], write[b]-c.used[b])
	})
	return out
}

// quantum is the step a pod resource's headroom is handed out in: the
// largest average request per pod of a namespace, where the item counts
// pods. Quota admission knows no partial pods: a share whose headroom is
// below one pod's request is no headroom at all.
func quantum(name corev1.ResourceName, u unit, shares []Share) int64 {
	q := int64(1)
	if !podResource(name) {
		return q
	}
	for _, s := range shares {
		pods, ok := s.Used[corev1.ResourcePods]
		if !ok || pods.Value() == 0 {
			continue
		}
		used := u.of(s.Used, name)
		q = max(q, (used+pods.Value()-1)/pods.Value())
	}
	return q
}

// podResource: a resource pods ask for (requests, limits, their short forms).
func podResource(name corev1.ResourceName) bool {
	n := string(name)
	return strings.HasPrefix(n, "requests.") || strings.HasPrefix(n, "limits.") || strings.HasPrefix(n, "hugepages-") ||
		name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage
}

// unit converts one resource's quantities to integers: thousandths for CPU
// (pods ask for 100m), whole units for everything else.
type unit struct {
	milli  bool
	format resource.Format
}

func unitOf(name corev1.ResourceName, total resource.Quantity) unit {
	return unit{milli: strings.Contains(string(name), "cpu"), format: total.Format}
}

func (u unit) count(q resource.Quantity) int64 {
	if u.milli {
		return q.MilliValue()
	}
	return q.Value()
}

func (u unit) of(list corev1.ResourceList, name corev1.ResourceName) int64 {
	q, ok := list[name]
	if !ok {
		return 0
	}
	return u.count(q)
}

func (u unit) quantity(v int64) resource.Quantity {
	if u.milli {
		return *resource.NewMilliQuantity(v, resource.DecimalSI)
	}
	return *resource.NewQuantity(v, u.format)
}

// Sum adds up the lists' values of the resources in names.
func Sum(lists []corev1.ResourceList, names corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name := range names {
		total := resource.Quantity{Format: names[name].Format}
		for _, l := range lists {
			if q, ok := l[name]; ok {
				total.Add(q)
			}
		}
		out[name] = total
	}
	return out
}

func equalLists(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for name, q := range a {
		if other, ok := b[name]; !ok || q.Cmp(other) != 0 {
			return false
		}
	}
	return true
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

func allTrue(v []bool) bool {
	for _, x := range v {
		if !x {
			return false
		}
	}
	return true
}

// mulDiv is a*b/c rounded down, without overflow.
func mulDiv(a, b, c int64) int64 {
	if c == 0 {
		return 0
	}
	r := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return r.Quo(r, big.NewInt(c)).Int64()
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
