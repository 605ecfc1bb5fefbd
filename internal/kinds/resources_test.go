package kinds

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The table of shared lists starts again when full; lists handed out keep
// their content, and equal content is shared again afterwards.
func TestSharedListsStayBounded(t *testing.T) {
	s := resourceLists{byContent: map[string]corev1.ResourceList{}}
	list := func(i int) corev1.ResourceList {
		return corev1.ResourceList{"pods": resource.MustParse(fmt.Sprint(i)), "cpu": resource.MustParse("1")}
	}
	first := s.of(list(0))
	for i := range 2 * maxSharedLists {
		got := s.of(list(i))
		if p := got["pods"]; p.Value() != int64(i) {
			t.Fatalf("list %d came back as %v", i, got)
		}
		if len(s.byContent) > maxSharedLists {
			t.Fatalf("table holds %d lists, bound %d", len(s.byContent), maxSharedLists)
		}
	}
	if p := first["pods"]; p.String() != "0" {
		t.Fatalf("a list handed out changed: %v", first)
	}
	a, b := s.of(list(7)), s.of(list(7))
	if fmt.Sprintf("%p", a) != fmt.Sprintf("%p", b) {
		t.Fatal("equal lists are not shared")
	}
	if s.of(corev1.ResourceList{}) != nil {
		t.Fatal("an empty list should be nil")
	}
}

// TestWarmExtract: the start-up warm-up succeeds for every kind; an error
// there would stop the operator's manager.
func TestWarmExtract(t *testing.T) {
	if err := WarmExtract(); err != nil {
		t.Fatal(err)
	}
}
