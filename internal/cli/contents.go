package cli

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// contentCounter counts what a namespace holds, for a plan that deletes it:
// every namespaced kind the API server serves (found by discovery) that can
// be listed, but events, which come and go on their own. It lists metadata
// only, a page at a time.
type contentCounter struct {
	discovery discovery.DiscoveryInterface
	metadata  metadata.Interface
	// resources are the listable namespaced resources, found once.
	resources []schema.GroupVersionResource
	// undiscovered are the API groups discovery could not list.
	undiscovered []string
	discovered   bool
}

func newContentCounter(cfg *rest.Config) (*contentCounter, error) {
	// Listing deprecated kinds (v1 Endpoints) draws warnings that say
	// nothing about the plan.
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{}
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	m, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &contentCounter{discovery: d, metadata: m}, nil
}

func (c *contentCounter) discover() error {
	if c.discovered {
		return nil
	}
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	if failed, ok := err.(*discovery.ErrGroupDiscoveryFailed); ok { //nolint:errorlint // discovery returns it unwrapped
		for gv := range failed.Groups {
			c.undiscovered = append(c.undiscovered, gv.String())
		}
		slices.Sort(c.undiscovered)
	} else if err != nil {
		return fmt.Errorf("discover the API's namespaced kinds: %w", err)
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if r.Name == "events" || !slices.Contains(r.Verbs, "list") {
				continue
			}
			c.resources = append(c.resources, gv.WithResource(r.Name))
		}
	}
	c.discovered = true
	return nil
}

// count returns how many objects of each resource namespace holds (only
// those it holds), and the resources it may not list.
func (c *contentCounter) count(ctx context.Context, namespace string) (map[string]int, []string, error) {
	if err := c.discover(); err != nil {
		return nil, nil, err
	}
	counts := map[string]int{}
	uncounted := slices.Clone(c.undiscovered)
	for _, gvr := range c.resources {
		n, err := c.countOf(ctx, gvr, namespace)
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			uncounted = append(uncounted, resourceName(gvr))
		case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
			// Gone since discovery, or not listable after all.
		case err != nil:
			return nil, nil, fmt.Errorf("count %s in namespace %s: %w", resourceName(gvr), namespace, err)
		case n > 0:
			counts[resourceName(gvr)] = n
		}
	}
	slices.Sort(uncounted)
	return counts, uncounted, nil
}

func (c *contentCounter) countOf(ctx context.Context, gvr schema.GroupVersionResource, namespace string) (int, error) {
	n := 0
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := c.metadata.Resource(gvr).Namespace(namespace).List(ctx, opts)
		if err != nil {
			return 0, err
		}
		n += len(list.Items)
		if list.Continue == "" {
			return n, nil
		}
		opts.Continue = list.Continue
	}
}

// resourceName is a resource as kubectl names it: pods, deployments.apps.
func resourceName(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}
