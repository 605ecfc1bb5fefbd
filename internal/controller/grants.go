package controller

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/kinds"
	"github.com/tenantry/tenantry/internal/plan"
)

// grantTableDelay collects the Tenant events of a burst (an onboarding, a
// rollout) into one pass over the table.
const grantTableDelay = 100 * time.Millisecond

// grantTableController keeps the hostname grant table (kinds.GrantTableName)
// in the operator's namespace: gather (every Tenant's claim and the table,
// from the cache), plan (plan.GrantTable, the same decision each Tenant's
// pass makes for itself), execute (one write, only when it differs). It is
// a single object, so one controller with one key writes it: no two passes
// race on it.
type grantTableController struct {
	client    client.Client
	namespace string

	// mu guards last: the table as this operator last wrote or found it,
	// and its resourceVersion. Someone else's change to the stored table is
	// drift: grants are decided from last, so editing the table never moves
	// a grant while the operator runs, and each Tenant's pass reads last too.
	mu     sync.Mutex
	last   plan.Grants
	lastRV uint64
}

// Its RBAC is in config/rbac/leader_election_role.yaml, the operator's
// Role in its own namespace: create ConfigMaps (RBAC cannot name what is
// created: the fence allows only this name), and get, list, watch and
// update only this one.

func (g *grantTableController) key() client.ObjectKey {
	return client.ObjectKey{Namespace: g.namespace, Name: kinds.GrantTableName}
}

// held is who holds each hostname: the table as last written or found,
// else the stored one (nil before the first pass).
func (g *grantTableController) held() plan.Grants {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func (g *grantTableController) remember(grants plan.Grants, rv string) {
	n, _ := strconv.ParseUint(rv, 10, 64)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last, g.lastRV = grants, n
}

// Reconcile brings the grant table to what the Tenants' claims grant.
func (g *grantTableController) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	var tenants tenantryv1alpha1.TenantList
	if err := g.client.List(ctx, &tenants); err != nil {
		return ctrl.Result{}, err
	}
	var claims []plan.HostnameClaim
	for i := range tenants.Items {
		if c := plan.ClaimOf(&tenants.Items[i]); len(c.Hostnames) > 0 {
			claims = append(claims, c)
		}
	}
	cm := &corev1.ConfigMap{}
	switch err := g.client.Get(ctx, g.key(), cm); {
	case apierrors.IsNotFound(err):
		cm = nil
	case err != nil:
		return ctrl.Result{}, err
	}
	held := g.held()
	if cm != nil {
		rv, _ := strconv.ParseUint(cm.ResourceVersion, 10, 64)
		g.mu.Lock()
		lagging := rv < g.lastRV
		g.mu.Unlock()
		if lagging { // the cache has not seen our last write yet
			return ctrl.Result{RequeueAfter: grantTableDelay}, nil
		}
		if held == nil {
			held = plan.DecodeGrants(cm.Data)
		}
	}
	grants := plan.GrantTable(claims, held)
	want := grants.Encode()
	log := logf.FromContext(ctx)
	if cm == nil {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: g.namespace, Name: kinds.GrantTableName,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "tenantry"}}, Data: want}
		if err := g.client.Create(ctx, cm); err != nil {
			return ctrl.Result{}, err
		}
		g.remember(grants, cm.ResourceVersion)
		log.Info("Created ConfigMap of hostname grants", "hostnames", len(grants))
		return ctrl.Result{}, nil
	}
	if maps.Equal(cm.Data, want) && len(cm.BinaryData) == 0 {
		g.remember(grants, cm.ResourceVersion)
		return ctrl.Result{}, nil
	}
	// An update, not an apply: the table is all Tenantry's, so keys anyone
	// else added go too; the resourceVersion makes it conditional.
	cm.Data, cm.BinaryData = want, nil
	if err := g.client.Update(ctx, cm); err != nil {
		return ctrl.Result{}, err
	}
	g.remember(grants, cm.ResourceVersion)
	log.Info("Updated ConfigMap of hostname grants", "hostnames", len(grants))
	return ctrl.Result{}, nil
}

// setupGrantTable runs the grant table's controller: once at start (the
// table must exist: the policy refuses Ingresses in tenant namespaces
// without it), whenever a Tenant's hostnames change, and whenever anyone
// else changes or deletes the table.
func setupGrantTable(mgr ctrl.Manager, namespace string) (*grantTableController, error) {
	g := &grantTableController{client: mgr.GetClient(), namespace: namespace}
	start := source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		q.Add(reconcile.Request{NamespacedName: g.key()})
		return nil
	})
	return g, ctrl.NewControllerManagedBy(mgr).
		Named("hostnamegrants").
		For(&corev1.ConfigMap{}).
		Watches(&tenantryv1alpha1.Tenant{}, toGrantTable{g.key()}, builder.WithPredicates(hostnamesChanged)).
		WatchesRawSource(start).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(g)
}

// toGrantTable maps every event to the one table, after grantTableDelay.
type toGrantTable struct{ key client.ObjectKey }

func (t toGrantTable) add(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	q.AddAfter(reconcile.Request{NamespacedName: t.key}, grantTableDelay)
}

func (t toGrantTable) Create(_ context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.add(q)
}

func (t toGrantTable) Update(_ context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.add(q)
}

func (t toGrantTable) Delete(_ context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.add(q)
}

func (toGrantTable) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

var _ handler.EventHandler = toGrantTable{}
