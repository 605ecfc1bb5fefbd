package gather

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
)

// readSource answers Read only; the rest of Source is not used by confirm.
type readSource struct {
	Source
	mu       sync.Mutex
	reads    map[string]int
	inFlight int
	// together is how many reads must be in flight before any answers.
	together int
	all      chan struct{}
	fail     string
}

func (s *readSource) Read(ctx context.Context, kind, namespace, name string) (client.Object, error) {
	key := kinds.Key(kind, namespace, name)
	s.mu.Lock()
	s.reads[key]++
	s.inFlight++
	if s.inFlight == s.together {
		close(s.all)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-time.After(5 * time.Second):
		return nil, errors.New("reads were made one after another")
	}
	if key == s.fail {
		return nil, errors.New("refused")
	}
	if name == "absent" {
		return nil, nil
	}
	q := &corev1.ResourceQuota{}
	q.Namespace, q.Name = namespace, name
	return q, nil
}

// TestConfirmReadsAtOnce: the reads a plan asks for are in flight
// together, each object once however often it was asked for, an absent
// one is recorded as absent, and one failed read fails them all.
func TestConfirmReadsAtOnce(t *testing.T) {
	refs := []plan.Ref{
		{Kind: kinds.ResourceQuota, Namespace: "a", Name: "tenantry-compute"},
		{Kind: kinds.ResourceQuota, Namespace: "b", Name: "tenantry-compute"},
		{Kind: kinds.ResourceQuota, Namespace: "a", Name: "tenantry-compute"},
		{Kind: kinds.ResourceQuota, Namespace: "c", Name: "absent"},
	}
	src := &readSource{reads: map[string]int{}, together: 3, all: make(chan struct{})}
	obs := &plan.Observed{Full: map[string]client.Object{}}
	if err := confirm(context.Background(), src, obs, refs); err != nil {
		t.Fatal(err)
	}
	for key, n := range src.reads {
		if n != 1 {
			t.Errorf("%s read %d times, want once", key, n)
		}
	}
	if len(obs.Full) != 3 {
		t.Fatalf("obs.Full has %d entries, want 3: %v", len(obs.Full), obs.Full)
	}
	if got := obs.Full[refs[1].Key()]; got == nil || got.GetNamespace() != "b" {
		t.Errorf("b's share recorded as %v", got)
	}
	if got, ok := obs.Full[refs[3].Key()]; !ok || got != nil {
		t.Errorf("the absent object recorded as %v, %v; want present as nil", got, ok)
	}

	failing := &readSource{reads: map[string]int{}, together: 3, all: make(chan struct{}), fail: refs[1].Key()}
	obs = &plan.Observed{Full: map[string]client.Object{}}
	if err := confirm(context.Background(), failing, obs, refs); err == nil || err.Error() != "refused" {
		t.Fatalf("err = %v, want the failed read's", err)
	}
	if len(obs.Full) != 0 {
		t.Errorf("a failed confirmation recorded %d reads; the plan must not go on half-confirmed", len(obs.Full))
	}
}
