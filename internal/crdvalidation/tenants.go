package crdvalidation

import (
	"path/filepath"
	"runtime"
	"sync"
)

var tenants = sync.OnceValues(func() (*Validator, error) {
	_, file, _, _ := runtime.Caller(0)
	return Load(filepath.Join(filepath.Dir(file), "..", "..", "config", "crd", "bases", "tenantry.io_tenants.yaml"), "v1alpha1")
})

// Tenants is the validation of the Tenant CRD in this source tree
// (config/crd/bases), loaded once.
func Tenants() (*Validator, error) { return tenants() }
