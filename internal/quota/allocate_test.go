package quota

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// in is a namespace's share as stored and synced: spec = status.hard.
func in(hard, used, pods int64) Share {
	l := func(cpu, n int64) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceRequestsCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI),
			corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}
	}
	return Share{Exists: true, Owned: true, Spec: l(hard, 100), Hard: l(hard, 100), Used: l(used, pods)}
}

func cpus(ds []Decision, of func(Decision) corev1.ResourceList) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		q := of(d)[corev1.ResourceRequestsCPU]
		out[i] = q.MilliValue()
	}
	return out
}

func TestPolicy(t *testing.T) {
	total := corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1200m"), corev1.ResourcePods: resource.MustParse("300")}
	target := func(d Decision) corev1.ResourceList { return d.Target }
	for _, tc := range []struct {
		name   string
		shares []Share
		want   []int64
	}{
		{"nothing used: even", []Share{{}, {}, {}}, []int64{400, 400, 400}},
		{"healthy: kept", []Share{in(500, 100, 1), in(400, 0, 0), in(300, 100, 1)}, []int64{500, 400, 300}},
		{"one namespace busy: half the headroom by usage, in steps of its average pod",
			[]Share{in(400, 400, 4), in(400, 0, 0), in(400, 0, 0)}, []int64{1000, 100, 100}},
		{"less than a pod per namespace left: it goes to the busiest",
			[]Share{in(1100, 1100, 11), in(50, 0, 0), in(50, 0, 0)}, []int64{1200, 0, 0}},
		{"hand-edited share: split again", func() []Share {
			s := []Share{in(500, 100, 1), in(400, 0, 0), in(300, 100, 1)}
			s[1].Owned = false
			return s
		}(), []int64{600, 200, 400}},
		{"usage over the total: at most usage, in proportion", []Share{in(1000, 1000, 10), in(1000, 800, 8)}, []int64{666, 533}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "usage over the total: at most usage, in proportion" {
				total = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1200m")}
			}
			if got := cpus(Allocate(total, tc.shares), target); !slices.Equal(got, tc.want) {
				t.Fatalf("targets %v, want %v", got, tc.want)
			}
		})
	}
}
