package controller

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apihealth"
)

// getTenant reads a Tenant from the cache and, when the cache does not have
// it, from the API server: after an outage the informer may not have seen
// a new Tenant yet (it relists on its own backoff), and a deleted one costs
// just this read.
func (r *TenantReconciler) getTenant(ctx context.Context, name string, t *tenantryv1alpha1.Tenant) error {
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, t)
	if !apierrors.IsNotFound(err) {
		return err
	}
	return r.APIReader.Get(ctx, client.ObjectKey{Name: name}, t)
}

// requeueAfterOutage enqueues every Tenant, listed from the API server, each
// time the API server answers again after an outage.
func (r *TenantReconciler) requeueAfterOutage(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.Health.Recovered():
		}
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(tenantryv1alpha1.GroupVersion.WithKind("TenantList"))
		// A restarted API server refuses requests (Forbidden) until its
		// RBAC caches are filled: retry for a while.
		err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			return r.APIReader.List(ctx, list) == nil, nil
		})
		if err != nil {
			logf.FromContext(ctx).Error(err, "Listing Tenants after an API server outage")
			continue
		}
		for _, item := range list.Items {
			select {
			case r.Health.Wake() <- apihealth.WakeEvent(item.Name):
			case <-ctx.Done():
				return nil
			}
		}
		logf.FromContext(ctx).Info("API server answers again: every Tenant requeued", "tenants", len(list.Items))
	}
}
