// Package memlimit sets the Go runtime's memory limit from the container's.
package memlimit

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// Env is the variable the Deployment fills with the container's memory
// limit in bytes (a resourceFieldRef to limits.memory).
const Env = "TENANTRY_MEMORY_LIMIT"

// Share is the part of the container's limit given to the Go runtime. The
// rest is for what the limit does not count and the kernel does: the
// binary's mapped pages and the runtime's own overhead. With the whole
// limit as GOMEMLIMIT the process could pass the container's limit, and be
// killed, before the collector worked harder.
const Share = 0.85

// Apply sets the runtime's soft memory limit to Share of the container's
// limit, unless GOMEMLIMIT is set (an explicit choice wins) or no limit is
// given. It returns the limit set, 0 for none.
func Apply(getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	v := getenv(Env)
	if v == "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 {
		return 0, fmt.Errorf("%s=%q: want the memory limit in bytes", Env, v)
	}
	soft := int64(float64(limit) * Share)
	debug.SetMemoryLimit(soft)
	return soft, nil
}

// FromEnv is Apply with the process environment.
func FromEnv() (int64, error) { return Apply(os.Getenv) }
