package cli

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenantryv1alpha1 "github.com/tenantry/tenantry/api/v1alpha1"
	"github.com/tenantry/tenantry/internal/apierr"
	"github.com/tenantry/tenantry/internal/effective"
	"github.com/tenantry/tenantry/internal/gather"
	"github.com/tenantry/tenantry/internal/plan"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(tenantryv1alpha1.AddToScheme(scheme))
}

// plan plans every Tenant of the input against the cluster and prints the
// plans. It only reads, and dry-runs (dryRun=All) what the API server must judge.
func (r Runner) plan(ctx context.Context, args []string) (int, error) {
	o, err := r.flags("plan", args, true)
	if err != nil {
		return ExitError, err
	}
	cfg, err := o.planConfig()
	if err != nil {
		return ExitError, err
	}
	in, err := readInput(o.files, o.classes, r.In, r.Err)
	if err != nil {
		return ExitError, err
	}
	restCfg, err := loadConfig(o.kubeconfig, o.context)
	if err != nil {
		return ExitError, err
	}
	restCfg.UserAgent = "tenantry-plan"
	restCfg.QPS, restCfg.Burst = 50, 100
	restCfg.WarningHandler = rest.NewWarningWriter(r.Err, rest.WarningWriterOptions{Deduplicate: true})
	if r.Configure != nil {
		r.Configure(restCfg)
	}
	c, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return ExitError, err
	}
	counter, err := newContentCounter(restCfg)
	if err != nil {
		return ExitError, err
	}
	rep := &Report{}
	classes, err := admitClasses(ctx, c, in.classes, rep)
	if err != nil {
		return ExitError, err
	}
	tenants, err := withMembers(ctx, c, in.tenants, classes)
	if err != nil {
		return ExitError, err
	}
	for _, t := range tenants {
		tr, err := planTenant(ctx, c, classes, counter, t, o.effective(), cfg)
		if err != nil {
			return ExitError, fmt.Errorf("plan Tenant %s: %w", t.tenant.Name, err)
		}
		rep.add(tr)
	}
	if o.output == "json" {
		err = writeJSON(r.Out, rep)
	} else {
		err = writeText(r.Out, rep)
	}
	switch {
	case err != nil:
		return ExitError, err
	case rep.Summary.Refused > 0:
		return ExitError, nil
	case rep.Summary.Changes:
		return ExitChanges, nil
	}
	return ExitNoChanges, nil
}

// loadConfig loads the kubeconfig as kubectl does (--kubeconfig, else
// $KUBECONFIG, else ~/.kube/config; --context, else the current one), and
// in a pod without any kubeconfig, its ServiceAccount.
func loadConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := cc.ClientConfig()
	if clientcmd.IsEmptyConfig(err) && kubeconfig == "" && kubeContext == "" {
		if inCluster, inErr := rest.InClusterConfig(); inErr == nil {
			return inCluster, nil
		}
	}
	return cfg, err
}

// planTenant plans one Tenant: as the API server would store it (a
// dry-run create or update gives its defaults and its verdict), with the
// cluster's metadata and status when it exists, through the operator's own
// gather and plan, its class as the input has it, else as the cluster has it.
func planTenant(ctx context.Context, c client.Client, classes inputClasses, counter *contentCounter,
	pt planned, opts effective.Options, cfg plan.Config) (*TenantReport, error) {
	file := pt.tenant
	tr := &TenantReport{Name: file.Name, NotInInput: pt.member}
	if ac, ok := classes[file.Spec.Class]; ok {
		if ac.refusal != "" {
			tr.State, tr.ClassRefused = StateChanged, ac.class.Name
			return tr, nil
		}
		if ac.state != StateUnchanged {
			tr.ClassChanged = ac.class.Name
		}
	}
	t, state, refusal, err := admitted(ctx, c, file)
	if err != nil {
		return nil, err
	}
	tr.State = state
	if refusal != "" {
		tr.Refused = refusal
		return tr, nil
	}
	direct := &gather.Direct{Client: c, GrantsNamespace: cfg.OperatorNamespace}
	return tr, tr.plan(ctx, direct, classSource{Direct: direct, classes: classes}, t, opts, cfg, counter)
}

// plan makes t's plan as the operator does (gather.Effective, Observe,
// Plan) from src, its class from classes, and reports it.
func (tr *TenantReport) plan(ctx context.Context, src gather.Source, classes gather.ClassSource, t *tenantryv1alpha1.Tenant,
	opts effective.Options, cfg plan.Config, counter *contentCounter) error {
	e, err := gather.Effective(ctx, classes, t, opts)
	if err != nil {
		return err
	}
	obs, err := gather.Observe(ctx, src, t, e)
	if err != nil {
		return err
	}
	p, err := gather.Plan(ctx, src, e, obs, cfg)
	if err != nil {
		return err
	}
	if err := tr.fill(ctx, p, obs, counter); err != nil {
		return err
	}
	if d, ok := src.(*gather.Direct); ok {
		tr.Unchecked = d.Unchecked()
	}
	return nil
}

// Tenant states.
const (
	StateNew       = "new"
	StateChanged   = "spec changed"
	StateUnchanged = "spec unchanged"
	StateDeleting  = "being deleted"
)

// admitted returns the Tenant the operator would see once file is applied,
// and its state; refusal is the API server's answer when it refuses file.
//
// A new Tenant gets the UID of the dry-run create: one no object carries, as
// a real Tenant's, so that nothing labelled for its name is taken for its
// (an empty UID would match every object without an owner). An existing one
// keeps its UID, status and generation, one up when the spec changes, so
// that the planner takes the spec as not yet applied.
func admitted(ctx context.Context, c client.Client, file *tenantryv1alpha1.Tenant) (t *tenantryv1alpha1.Tenant, state, refusal string, err error) {
	for attempt := 0; ; attempt++ {
		live := &tenantryv1alpha1.Tenant{}
		err := c.Get(ctx, client.ObjectKey{Name: file.Name}, live)
		if apierrors.IsNotFound(err) {
			cand := &tenantryv1alpha1.Tenant{
				ObjectMeta: metav1.ObjectMeta{Name: file.Name, Labels: file.Labels, Annotations: file.Annotations},
				Spec:       *file.Spec.DeepCopy(),
			}
			if err := c.Create(ctx, cand, client.DryRunAll); err != nil {
				return nil, StateNew, refused(err), ignoreRefusal(err)
			}
			t = &tenantryv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: file.Name, UID: cand.UID, Generation: 1}, Spec: cand.Spec}
			return t, StateNew, "", nil
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("get Tenant: %w", err)
		}
		cand := live.DeepCopy()
		cand.Spec = *file.Spec.DeepCopy()
		err = c.Update(ctx, cand, client.DryRunAll)
		if apierrors.IsConflict(err) && attempt < 3 {
			continue // the operator wrote the status meanwhile
		}
		if err != nil {
			// What the cluster holds was accepted: a refused spec is another.
			return nil, StateChanged, refused(err), ignoreRefusal(err)
		}
		state = StateUnchanged
		t = live.DeepCopy()
		t.Spec = cand.Spec // with the CRD's defaults, as it would be stored
		if !equality.Semantic.DeepEqual(cand.Spec, live.Spec) {
			t.Generation, state = live.Generation+1, StateChanged
		}
		if !live.DeletionTimestamp.IsZero() {
			state = StateDeleting
		}
		return t, state, "", nil
	}
}

// refused is the API server's refusal of a Tenant; "" for an error that is
// not one (unreachable, overloaded).
func refused(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || apierr.IsTransient(err) {
		return ""
	}
	return err.Error()
}

// ignoreRefusal is err unless it is a refusal (which is reported, not failed on).
func ignoreRefusal(err error) error {
	if refused(err) != "" {
		return nil
	}
	return fmt.Errorf("dry-run Tenant: %w", err)
}
