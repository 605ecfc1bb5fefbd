package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/tenantry/tenantry/internal/localcluster"
)

// apiLoad is what the API server served in one phase, per verb and resource
// (from its own apiserver_request_duration_seconds): how many requests and
// how many seconds they took in total. Long-running requests (watches) are
// left out: they last as long as the phase.
type apiLoad map[string]apiCost

type apiCost struct {
	count, seconds float64
}

// apiServerLoad reads the API server's request totals so far.
func apiServerLoad(ctx context.Context, c *localcluster.Cluster) (apiLoad, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	load := apiLoad{}
	f := families["apiserver_request_duration_seconds"]
	if f == nil {
		return load, nil
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if slices.Contains([]string{"WATCH", "WATCHLIST", "CONNECT"}, labels["verb"]) || labels["resource"] == "" {
			continue
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		if labels["dry_run"] != "" {
			key += dryRunSuffix // stores nothing: the preflight of a new spec
		}
		c := load[key]
		c.count += float64(m.GetHistogram().GetSampleCount())
		c.seconds += m.GetHistogram().GetSampleSum()
		load[key] = c
	}
	return load, nil
}

// dryRunSuffix marks the requests of a dry run in an apiLoad key.
const dryRunSuffix = " (dry run)"

// dryRuns counts the dry-run requests.
func (l apiLoad) dryRuns() int {
	n := 0.0
	for k, c := range l {
		if strings.HasSuffix(k, dryRunSuffix) {
			n += c.count
		}
	}
	return int(n)
}

// since is what was served after before.
func (l apiLoad) since(before apiLoad) apiLoad {
	out := apiLoad{}
	for k, c := range l {
		d := apiCost{count: c.count - before[k].count, seconds: c.seconds - before[k].seconds}
		if d.count > 0 {
			out[k] = d
		}
	}
	return out
}

func (l apiLoad) total() apiCost {
	var t apiCost
	for _, c := range l {
		t.count += c.count
		t.seconds += c.seconds
	}
	return t
}

// keys sorted by server time, largest first.
func (l apiLoad) keys() []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if l[a].seconds != l[b].seconds {
			if l[a].seconds > l[b].seconds {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// summary is one line: the total, then every entry, costliest first.
func (l apiLoad) summary(tenants int) string {
	t := l.total()
	parts := []string{fmt.Sprintf("%.0f requests (%.1f per tenant), %.1f server-s", t.count, t.count/float64(tenants), t.seconds)}
	for _, k := range l.keys() {
		parts = append(parts, fmt.Sprintf("%s %.0f/%.1fs", k, l[k].count, l[k].seconds))
	}
	return strings.Join(parts, "; ")
}
