package gather

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
)

// ReadGrants reads the hostname grant table (kinds.GrantTableName) in
// namespace; an absent table, or no namespace, is empty.
func ReadGrants(ctx context.Context, r client.Reader, namespace string) (plan.Grants, error) {
	if namespace == "" {
		return plan.Grants{}, nil
	}
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: kinds.GrantTableName}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return plan.Grants{}, nil
		}
		return nil, fmt.Errorf("read the hostname grant table: %w", err)
	}
	return plan.DecodeGrants(cm.Data), nil
}
