package memlimit

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name    string
		env     map[string]string
		want    int64
		wantErr bool
	}{
		{"the container's limit, 256Mi", map[string]string{Env: "268435456"}, 228170137, false},
		{"GOMEMLIMIT wins", map[string]string{Env: "268435456", "GOMEMLIMIT": "100MiB"}, 0, false},
		{"no limit", map[string]string{}, 0, false},
		{"not bytes", map[string]string{Env: "256Mi"}, 0, true},
		{"zero", map[string]string{Env: "0"}, 0, true},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		got, err := Apply(env(c.env))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s: Apply = %d, %v; want %d (error %v)", c.name, got, err, c.want, c.wantErr)
		}
		if runtimeLimit := debug.SetMemoryLimit(-1); c.want > 0 && runtimeLimit != c.want {
			t.Errorf("%s: runtime limit %d, want %d", c.name, runtimeLimit, c.want)
		} else if c.want == 0 && runtimeLimit != math.MaxInt64 {
			t.Errorf("%s: runtime limit changed to %d", c.name, runtimeLimit)
		}
	}
}
