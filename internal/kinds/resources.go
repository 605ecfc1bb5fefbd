package kinds

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// maxSharedLists bounds the table of shared resource lists: when it is
// full it starts again (the lists already handed out stay in use).
const maxSharedLists = 4096

// sharedLists hands out one map per distinct resource list to the cache's
// slim quota copies. Quotas repeat the same few lists (a class's hard
// values, a share, zero usage) across thousands of namespaces, and a map of
// quantities costs several hundred bytes. Like everything in the cache,
// they are shared and must not be modified.
var sharedLists = resourceLists{byContent: map[string]corev1.ResourceList{}}

type resourceLists struct {
	mu        sync.Mutex
	byContent map[string]corev1.ResourceList
}

func (s *resourceLists) of(l corev1.ResourceList) corev1.ResourceList {
	if len(l) == 0 {
		return nil
	}
	names := make([]string, 0, len(l))
	for name := range l {
		names = append(names, string(name))
	}
	slices.Sort(names)
	var key strings.Builder
	for _, name := range names {
		q := l[corev1.ResourceName(name)]
		key.WriteString(name)
		key.WriteByte('=')
		key.WriteString(q.String())
		key.WriteByte(';')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if shared, ok := s.byContent[key.String()]; ok {
		return shared
	}
	if len(s.byContent) >= maxSharedLists {
		clear(s.byContent)
	}
	s.byContent[key.String()] = l
	return l
}
