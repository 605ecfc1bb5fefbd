// Package adoption is the record Tenantry keeps on a namespace it adopts
// (the tenantry.io/adopted annotation): what the namespace was, to be put
// back on release.
package adoption

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
)

// Record is what a namespace looked like before Tenantry adopted it:
// on release, what Tenantry took over is put back.
type Record struct {
	TenantUID   types.UID         `json:"tenantUID"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// notRecorded are annotations an adoption record leaves out: ours, and
// kubectl's copy of the whole object, which would double its size.
var notRecorded = []string{tenantryv1alpha1.AdoptedAnnotation, tenantryv1alpha1.TenantUIDAnnotation,
	corev1.LastAppliedConfigAnnotation}

// DropMarks keeps Tenantry's own marks out of an adoption record: a
// namespace adopted from an earlier Tenant (or from a version of Tenantry
// without UIDs) carries them, and putting them back on release would leave
// it looking managed.
func DropMarks(rec *Record) {
	delete(rec.Labels, tenantryv1alpha1.TenantLabel)
	if rec.Labels[tenantryv1alpha1.ManagedByLabel] == tenantryv1alpha1.ManagedByValue {
		delete(rec.Labels, tenantryv1alpha1.ManagedByLabel)
	}
	for _, k := range notRecorded {
		delete(rec.Annotations, k)
	}
}
