package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tenantry/tenantry/internal/localcluster"
)

func scrape(ctx context.Context, op *localcluster.Operator) (map[string]*dto.MetricFamily, error) {
	text, err := op.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(strings.NewReader(text))
}

func writeRequests(ctx context.Context, op *localcluster.Operator) (int, error) {
	families, err := scrape(ctx, op)
	if err != nil {
		return 0, err
	}
	total := 0.0
	if f := families["rest_client_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && slices.Contains([]string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, l.GetValue()) {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(total), nil
}

func reconcileTotal(ctx context.Context, op *localcluster.Operator) (float64, error) {
	families, err := scrape(ctx, op)
	if err != nil {
		return 0, err
	}
	var total float64
	if f := families["controller_runtime_reconcile_total"]; f != nil {
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total, nil
}

func waitReconciles(ctx context.Context, op *localcluster.Operator, want float64) error {
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		families, err := scrape(ctx, op)
		if err != nil {
			return err
		}
		var total, depth, active float64
		if f := families["controller_runtime_reconcile_total"]; f != nil {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
		if f := families["workqueue_depth"]; f != nil {
			for _, m := range f.GetMetric() {
				depth += m.GetGauge().GetValue()
			}
		}
		if f := families["controller_runtime_active_workers"]; f != nil {
			for _, m := range f.GetMetric() {
				active += m.GetGauge().GetValue()
			}
		}
		if total >= want && depth == 0 && active == 0 {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.New("the operator did not settle")
}

type procStats struct {
	peakRSSMB float64
	cpuS      float64
	seen      map[int]float64
}

func (s *procStats) sample(op *localcluster.Operator) float64 {
	pid := op.PID()
	if pid == 0 {
		return 0
	}
	var peak float64
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				if kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64); err == nil {
					peak = kb / 1024
					s.peakRSSMB = max(s.peakRSSMB, peak)
				}
			}
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name (which may hold spaces): utime is the 14th field overall.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) > 12 {
			utime, _ := strconv.ParseFloat(fields[11], 64)
			stime, _ := strconv.ParseFloat(fields[12], 64)
			if s.seen == nil {
				s.seen = map[int]float64{}
			}
			cpu := (utime + stime) / 100 // USER_HZ
			s.cpuS += cpu - s.seen[pid]
			s.seen[pid] = cpu
		}
	}
	return peak
}

// operatorGets are the operator's reads of single objects (its own count,
// tenantry_api_requests_total{verb="get"}), by resource: reads past its
// cache. The API server's count also has other clients' reads, such as the
// garbage collector's catching up on new owner references.
func operatorGets(ctx context.Context, op *localcluster.Operator) (total int, byResource map[string]int, err error) {
	families, err := scrape(ctx, op)
	if err != nil {
		return 0, nil, err
	}
	byResource = map[string]int{}
	if f := families["tenantry_api_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["verb"] == "get" {
				n := int(m.GetCounter().GetValue())
				byResource[labels["resource"]] += n
				total += n
			}
		}
	}
	return total, byResource, nil
}
