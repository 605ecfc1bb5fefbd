package quota

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// cluster models what the API server and the quota controller do with the
// tenant's ResourceQuotas: admission counts usage against status.hard and
// bumps the quota's version; the controller copies spec.hard into
// status.hard; the operator reads a snapshot, then writes, shrinks first,
// each shrink conditional on the version it read.
type cluster struct {
	total int64
	ns    []*modelNS
	rng   *rand.Rand
	log   []string
	// quiet: no events between the operator's writes (settling).
	quiet bool
	// over holds what the namespaces may hold while a lowered total has
	// not been restored yet: that may only shrink.
	over int64
}

type modelNS struct {
	name             string
	exists           bool
	spec, hard, used int64
	synced           bool // status.hard set at all
	version          int
	// leaving: no longer one of the tenant's namespaces, its quota still
	// in place until the namespace is gone.
	leaving bool
}

const res = corev1.ResourceRequestsCPU

func (c *cluster) shares() []Share {
	out := make([]Share, len(c.ns))
	for i, n := range c.ns {
		s := Share{Namespace: n.name, Exists: n.exists, Owned: true, Leaving: n.leaving}
		if n.exists {
			s.Spec = corev1.ResourceList{res: *resource.NewMilliQuantity(n.spec, resource.DecimalSI)}
			if n.synced {
				s.Hard = corev1.ResourceList{res: *resource.NewMilliQuantity(n.hard, resource.DecimalSI)}
				s.Used = corev1.ResourceList{res: *resource.NewMilliQuantity(n.used, resource.DecimalSI)}
			}
		}
		out[i] = s
	}
	return out
}

// committed is the most the namespaces may hold: what must stay within the total.
func (c *cluster) committed() int64 {
	var s int64
	for _, n := range c.ns {
		if n.exists {
			s += max(n.spec, n.hard, n.used)
		}
	}
	return s
}

// admit is a pod asking for m in namespace i, decided by admission.
func (c *cluster) admit(i int, m int64) bool {
	n := c.ns[i]
	if !n.exists || !n.synced || n.leaving || n.used+m > n.hard {
		return false
	}
	n.used += m
	n.version++
	return true
}

func (c *cluster) free(i int, m int64) {
	n := c.ns[i]
	if m > n.used {
		m = n.used
	}
	if m > 0 {
		n.used -= m
		n.version++
	}
}

func (c *cluster) sync(i int) bool {
	n := c.ns[i]
	if !n.exists || n.synced && n.hard == n.spec {
		return false
	}
	n.hard, n.synced = n.spec, true
	n.version++
	return true
}

// randomEvent is what can happen between two of the operator's writes.
func (c *cluster) randomEvent() {
	i := c.rng.IntN(len(c.ns))
	switch c.rng.IntN(4) {
	case 0, 1:
		c.admit(i, int64(1+c.rng.IntN(400)))
	case 2:
		c.free(i, int64(1+c.rng.IntN(400)))
	default:
		c.sync(i)
	}
}

// pass is one operator pass: a snapshot, then its writes with random
// events in between. It returns the number of writes that landed.
func (c *cluster) pass(t *testing.T) int {
	snapshot := make([]modelNS, len(c.ns))
	for i, n := range c.ns {
		snapshot[i] = *n
	}
	total := corev1.ResourceList{res: *resource.NewMilliQuantity(c.total, resource.DecimalSI)}
	decisions := Allocate(total, c.shares())
	order := []int{}
	for i, d := range decisions {
		if d.Shrinks {
			order = append(order, i)
		}
	}
	for i, d := range decisions {
		if !d.Shrinks {
			order = append(order, i)
		}
	}
	writes := 0
	for _, i := range order {
		d, n := decisions[i], c.ns[i]
		w := d.Write[res]
		v := w.MilliValue()
		if snapshot[i].exists && v == snapshot[i].spec || snapshot[i].leaving {
			continue
		}
		if !c.quiet && c.rng.IntN(3) == 0 {
			c.randomEvent()
			c.check(t, "event during a pass")
		}
		if d.Shrinks && n.version != snapshot[i].version {
			return writes // 409: the pass ends, the next one starts over
		}
		if !n.exists {
			n.exists, n.synced, n.used = true, false, 0
		}
		n.spec = v
		n.version++
		writes++
		c.check(t, fmt.Sprintf("write %s=%d", n.name, v))
	}
	return writes
}

func (c *cluster) check(t *testing.T, step string) {
	t.Helper()
	got := c.committed()
	if c.over > 0 {
		if got > c.over {
			t.Fatalf("after %s: restoring a lowered total, what the namespaces may hold grew from %d to %d\n%s", step, c.over, got, c.dump())
		}
		c.over = got
		if got <= c.total {
			c.over = 0
		}
		return
	}
	if got > c.total {
		t.Fatalf("after %s: the namespaces may hold %d, over the total %d\n%s", step, got, c.total, c.dump())
	}
}

func (c *cluster) dump() string {
	out := ""
	for _, n := range c.ns {
		out += fmt.Sprintf("  %s exists=%v spec=%d hard=%d used=%d synced=%v\n", n.name, n.exists, n.spec, n.hard, n.used, n.synced)
	}
	return out + fmt.Sprintf("  log: %v", c.log)
}

// settle runs passes and syncs until nothing changes: what the operator and
// the quota controller reach when left alone.
func (c *cluster) settle(t *testing.T) {
	c.quiet = true
	defer func() { c.quiet = false }()
	for range 50 {
		writes := c.pass(t)
		synced := 0
		for i := range c.ns {
			if c.sync(i) {
				synced++
			}
		}
		if writes == 0 && synced == 0 {
			return
		}
	}
	t.Fatalf("no fixed point after 50 passes\n%s", c.dump())
}

// TestAllocatorNeverOvershoots drives random interleavings of admissions,
// deletions, quota-controller syncs, operator passes, total changes and
// namespaces coming and going. After every step the namespaces together may
// never hold more than the total; once settled, all the headroom is handed
// out and no namespace is left without a share while there is headroom.
func TestAllocatorNeverOvershoots(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			c := &cluster{total: int64(1000 + rng.IntN(20000)), rng: rng}
			for i := range 1 + rng.IntN(5) {
				c.ns = append(c.ns, &modelNS{name: fmt.Sprintf("ns-%d", i)})
			}
			c.settle(t)
			for step := range 200 {
				switch k := rng.IntN(20); {
				case k < 12:
					c.randomEvent()
				case k < 17:
					c.pass(t)
				case k == 17:
					c.total = int64(500 + rng.IntN(20000))
					c.log = append(c.log, fmt.Sprintf("%d: total=%d", step, c.total))
					// A lower total cannot hold at once: from here on what
					// the namespaces may hold only shrinks, down to it.
					if got := c.committed(); got > c.total {
						c.over = got
					}
				case k == 18 && len(c.ns) < 8:
					c.ns = append(c.ns, &modelNS{name: fmt.Sprintf("ns-%d", 10+step)})
					c.log = append(c.log, fmt.Sprintf("%d: add", step))
				case k == 19 && len(c.ns) > 1:
					i := rng.IntN(len(c.ns))
					if c.ns[i].leaving {
						c.log = append(c.log, fmt.Sprintf("%d: gone %s", step, c.ns[i].name))
						c.ns = append(c.ns[:i], c.ns[i+1:]...)
					} else {
						c.log = append(c.log, fmt.Sprintf("%d: leaving %s", step, c.ns[i].name))
						c.ns[i].leaving = true
					}
				}
				c.check(t, fmt.Sprintf("step %d", step))
			}
			c.settle(t)
			c.checkSettled(t)
		})
	}
}

// checkSettled: under the total, every unit of it is handed out, and each
// namespace has room when the headroom is enough to go round.
func (c *cluster) checkSettled(t *testing.T) {
	t.Helper()
	// Leaving namespaces admit nothing new (a terminating namespace refuses
	// pods); what they may hold is kept off the staying ones' total.
	total, used, limits, specs := c.total, int64(0), int64(0), int64(0)
	var staying []*modelNS
	for _, n := range c.ns {
		if n.leaving {
			total -= max(n.spec, n.hard, n.used)
			continue
		}
		staying = append(staying, n)
		used += n.used
		limits += max(n.spec, n.hard)
		specs += n.spec
	}
	total = max(total, 0)
	if len(staying) == 0 {
		return
	}
	if limits > total {
		t.Fatalf("settled limits add up to %d, over the %d left of the total\n%s", limits, total, c.dump())
	}
	if used >= total {
		for _, n := range staying {
			if n.hard > n.used {
				t.Fatalf("over the total, %s may still admit (hard %d, used %d)\n%s", n.name, n.hard, n.used, c.dump())
			}
		}
		return
	}
	if specs != total {
		t.Fatalf("settled shares add up to %d, not the %d left of the total\n%s", specs, total, c.dump())
	}
	if total-used >= int64(2*len(staying)) {
		for _, n := range staying {
			if n.hard <= n.used {
				t.Fatalf("%s has no headroom while the tenant has %d\n%s", n.name, total-used, c.dump())
			}
		}
	}
}
