// Package tenantgen turns arbitrary bytes into Tenant objects for fuzzing and
// randomized tests. The same bytes always give the same Tenant. Values come
// from pools that mix valid and invalid input near the edges the API server
// checks (63-character names, reserved prefixes, bad quantities, unknown
// enum values), plus raw strings taken from the bytes, so that a fuzzer
// explores both what validation must refuse and what rendering must handle.
package tenantgen

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pool holds values the API server accepts (ok) and ones it refuses or that
// sit at an edge (odd). Most picks are ok, so that most Tenants are valid and
// reach rendering; one in sixteen is odd.
type pool struct{ ok, odd []string }

var (
	names = pool{
		ok:  []string{"a", "team-a", "t1", "dev", "prod-eu-1", strings.Repeat("n", 63)},
		odd: []string{"kube-system", "default", "Team_A", "-a", "a-", "a.b", strings.Repeat("n", 64), "", "ü"},
	}
	// childNames become tenantry-<name>: at most 54 characters.
	childNames = pool{
		ok:  []string{"a", "auditors", "compute", "deploy-bot", strings.Repeat("c", 54)},
		odd: []string{strings.Repeat("c", 55), "Team_A", "-a", "a.b", "", "owner", "isolation"},
	}
	subjectKinds = pool{ok: []string{"User", "Group", "ServiceAccount"}, odd: []string{"Robot", ""}}
	apiGroups    = pool{ok: []string{"rbac.authorization.k8s.io"}, odd: []string{"", "example.com"}}
	subjects     = pool{
		ok:  []string{"alice", "ci", "platform-admins", "deployer.v2"},
		odd: []string{"system:serviceaccount:ci:deployer", "alice@example.com", "Bad_Name", strings.Repeat("s", 254), ""},
	}
	clusterRoles = pool{ok: []string{"admin", "edit", "view"}, odd: []string{"cluster-admin", "system:aggregate-to-edit"}}
	labelKeys    = pool{
		ok: []string{"env", "cost-center", "example.com/team", "app.kubernetes.io/part-of", strings.Repeat("k", 63)},
		odd: []string{"tenantry.io/tenant", "pod-security.kubernetes.io/enforce", "bad key", "Example.com/x",
			"a/b/c", "-x", strings.Repeat("k", 64), ""},
	}
	labelValues      = pool{ok: []string{"", "dev", "1234", "a.b_c-d", strings.Repeat("v", 63)}, odd: []string{strings.Repeat("v", 64), "with space", "-x", "ü"}}
	annotationValues = pool{ok: []string{"", "note", "{\"json\": true}", strings.Repeat("x", 2048)}, odd: []string{strings.Repeat("x", 2049)}}
	psaLevels        = pool{ok: []string{"privileged", "baseline", "restricted"}, odd: []string{"", "lenient"}}
	psaVersions      = pool{ok: []string{"latest", "v1.37", "v1.0"}, odd: []string{"1.37", "", "v1"}}
	resources        = pool{
		ok: []string{"pods", "requests.cpu", "limits.memory", "services.nodeports", "services.loadbalancers",
			"count/deployments.apps", "requests.storage"},
		odd: []string{"bogus resource", "Pods"},
	}
	quantities = pool{ok: []string{"1", "0", "500m", "8Gi", "1e3", "0.5"}, odd: []string{"-1", "lots", ""}}
	quotaScope = pool{ok: []string{"BestEffort", "NotBestEffort", "Terminating", "NotTerminating"}, odd: []string{"Bogus"}}
	lrTypes    = pool{ok: []string{"Container", "Pod", "PersistentVolumeClaim"}, odd: []string{"Bogus"}}
	isolations = pool{ok: []string{"Tenant", "Namespace", "None"}, odd: []string{"", "Cluster"}}
	cidrs      = pool{ok: []string{"10.0.0.0/8", "192.168.1.0/24", "::/0"}, odd: []string{"10.0.0.1", "bogus", ""}}
	protocols  = pool{ok: []string{"TCP", "UDP", "SCTP"}, odd: []string{"", "ICMP"}}
	policyType = pool{ok: []string{"Ingress", "Egress"}, odd: []string{"Bogus"}}
	deletion   = pool{ok: []string{"Retain", "Delete"}, odd: []string{"", "Purge"}}
	adoption   = pool{ok: []string{"Never", "IfUnowned"}, odd: []string{"", "Always"}}
	driftPol   = pool{ok: []string{"Correct", "Report"}, odd: []string{"", "Ignore"}}
	egresses   = pool{ok: []string{"None", "Tenant", "Namespace"}, odd: []string{"", "Everything"}}
	registries = pool{
		ok:  []string{"ghcr.io/team-a/", "registry.example.com/", "localhost:5000/", "quay.io/org/team/"},
		odd: []string{"docker.io", "ghcr.io/team-a", "", "bad registry/", "a,b/"},
	}
	classNames = pool{ok: []string{"standard", "tenant-normal", "gvisor", "nginx", "fast.ssd"}, odd: []string{"", "Bad_Class", "a,b"}}
	hostnames  = pool{
		ok:  []string{"team-a.example.com", "*.team-a.example.com", "app.example.org", "x"},
		odd: []string{"*.*.example.com", "a.*.b", "1.2.3.4", "Team.example.com", "", "a,b.com"},
	}
	serviceTypes = pool{ok: []string{"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}, odd: []string{"Headless", ""}}
	tolOps       = pool{ok: []string{"Equal", "Exists"}, odd: []string{"", "In"}}
	effects      = pool{ok: []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, odd: []string{"", "Sometimes"}}
)

// source hands out the bytes one decision at a time; once they run out,
// every decision is 0 (the first, valid, choice), so short inputs give
// small valid Tenants.
type source struct{ b []byte }

func (s *source) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *source) intn(n int) int { return int(s.next()) % n }

// chance is true for roughly one decision in n.
func (s *source) chance(n int) bool { return s.intn(n) == n-1 }

// pick mostly takes an ok value; one time in sixteen an odd one, and now
// and then a raw string from the bytes, so the fuzzer can reach values no
// pool lists.
func (s *source) pick(p pool) string {
	switch c := int(s.next()); {
	case c < 240:
		return p.ok[c%len(p.ok)]
	case c < 255:
		return p.odd[c%len(p.odd)]
	default:
		n := s.intn(16)
		raw := make([]byte, 0, n)
		for range n {
			raw = append(raw, s.next())
		}
		return string(raw)
	}
}

// Tenant returns the Tenant the bytes describe, as the unstructured object
// `kubectl apply` would send: it may well be invalid.
func Tenant(data []byte) *unstructured.Unstructured {
	s := &source{b: data}
	spec := map[string]any{
		"owners":     s.subjects(1 + s.intn(3)),
		"namespaces": s.namespaces(),
	}
	if s.chance(3) {
		spec["ownerClusterRole"] = s.pick(clusterRoles)
	}
	if n := s.intn(3); n > 0 {
		var rbs []any
		for range n {
			rbs = append(rbs, map[string]any{"name": s.pick(childNames), "clusterRole": s.pick(clusterRoles), "subjects": s.subjects(1 + s.intn(2))})
		}
		spec["roleBindings"] = rbs
	}
	if s.chance(2) {
		spec["namespaceMetadata"] = map[string]any{"labels": s.labels(), "annotations": s.annotations()}
	}
	if s.chance(2) {
		spec["podSecurity"] = s.podSecurity()
	}
	if n := s.intn(3); n > 0 {
		var qs []any
		for range n {
			hard := map[string]any{}
			for range 1 + s.intn(3) {
				hard[s.pick(resources)] = s.pick(quantities)
			}
			q := map[string]any{"name": s.pick(childNames), "hard": hard}
			if s.chance(4) {
				q["scopes"] = []any{s.pick(quotaScope)}
			}
			qs = append(qs, q)
		}
		spec["resourceQuotas"] = qs
	}
	if s.chance(2) {
		item := map[string]any{"type": s.pick(lrTypes)}
		if s.chance(2) {
			item["default"] = map[string]any{"cpu": s.pick(quantities)}
		}
		if s.chance(2) {
			item["max"] = map[string]any{"cpu": s.pick(quantities)}
		}
		spec["limitRange"] = map[string]any{"limits": []any{item}}
	}
	if s.chance(2) {
		spec["networkPolicy"] = s.networkPolicy()
	}
	for key, pool := range map[string]pool{"deletionPolicy": deletion, "adoptionPolicy": adoption, "driftPolicy": driftPol} {
		if s.chance(3) {
			spec[key] = s.pick(pool)
		}
	}
	if s.chance(2) {
		spec["workloads"] = s.workloads()
	}
	if np, ok := spec["networkPolicy"].(map[string]any); ok && s.chance(2) {
		np["egress"] = s.pick(egresses)
		if s.chance(2) {
			np["allowEgressTo"] = []any{s.peer()}
		}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "tenantry.io/v1alpha1",
		"kind":       "Tenant",
		"metadata":   map[string]any{"name": s.pick(names)},
		"spec":       spec,
	}}
	return u
}

func (s *source) subjects(n int) []any {
	var out []any
	for range n {
		kind := s.pick(subjectKinds)
		sub := map[string]any{"kind": kind, "name": s.pick(subjects)}
		if (kind == "ServiceAccount") != s.chance(16) {
			sub["namespace"] = s.pick(names)
		}
		if (kind != "ServiceAccount" && s.chance(3)) || s.chance(16) {
			sub["apiGroup"] = s.pick(apiGroups)
		}
		out = append(out, sub)
	}
	return out
}

func (s *source) namespaces() []any {
	var out []any
	for range 1 + s.intn(3) {
		ns := map[string]any{"name": s.pick(names)}
		if s.chance(3) {
			ns["labels"] = s.labels()
		}
		if s.chance(4) {
			ns["annotations"] = s.annotations()
		}
		if s.chance(4) {
			ns["podSecurity"] = s.podSecurity()
		}
		out = append(out, ns)
	}
	return out
}

func (s *source) labels() map[string]any {
	out := map[string]any{}
	for range s.intn(3) {
		out[s.pick(labelKeys)] = s.pick(labelValues)
	}
	return out
}

func (s *source) annotations() map[string]any {
	out := map[string]any{}
	for range s.intn(3) {
		out[s.pick(labelKeys)] = s.pick(annotationValues)
	}
	return out
}

func (s *source) podSecurity() map[string]any {
	ps := map[string]any{}
	for _, k := range []string{"enforce", "audit", "warn"} {
		if s.chance(2) {
			ps[k] = s.pick(psaLevels)
		}
	}
	if s.chance(3) {
		ps["enforceVersion"] = s.pick(psaVersions)
	}
	return ps
}

func (s *source) peer() map[string]any {
	peer := map[string]any{}
	if s.chance(2) {
		peer["ipBlock"] = map[string]any{"cidr": s.pick(cidrs)}
	} else {
		peer["namespaceSelector"] = map[string]any{"matchLabels": s.labels()}
	}
	return peer
}

func (s *source) networkPolicy() map[string]any {
	np := map[string]any{"isolation": s.pick(isolations)}
	if s.chance(2) {
		np["allowIngressFrom"] = []any{s.peer()}
	}
	if s.chance(2) {
		port := map[string]any{"port": int64(s.intn(70000))}
		if s.chance(2) {
			port["protocol"] = s.pick(protocols)
		}
		np["policies"] = []any{map[string]any{"name": s.pick(childNames), "spec": map[string]any{
			"podSelector": map[string]any{"matchLabels": s.labels()},
			"policyTypes": []any{s.pick(policyType)},
			"ingress":     []any{map[string]any{"ports": []any{port}}},
		}}}
	}
	return np
}

func (s *source) list(p pool, max int) []any {
	var out []any
	for range s.intn(max + 1) {
		out = append(out, s.pick(p))
	}
	return out
}

func (s *source) workloads() map[string]any {
	w := map[string]any{}
	for _, f := range []struct {
		key string
		p   pool
	}{{"registries", registries}, {"storageClasses", classNames}, {"priorityClasses", classNames},
		{"runtimeClasses", classNames}, {"ingressClasses", classNames}, {"hostnames", hostnames}, {"serviceTypes", serviceTypes}} {
		if s.chance(2) {
			w[f.key] = s.list(f.p, 3)
		}
	}
	if s.chance(3) {
		w["imagePullPolicy"] = s.pick(pool{ok: []string{"Always"}, odd: []string{"IfNotPresent", ""}})
	}
	if s.chance(3) {
		w["nodeSelector"] = s.labels()
	}
	if s.chance(3) {
		var tols []any
		for range 1 + s.intn(2) {
			t := map[string]any{"key": s.pick(labelKeys)}
			if s.chance(2) {
				t["operator"] = s.pick(tolOps)
			}
			if s.chance(2) {
				t["value"] = s.pick(labelValues)
			}
			if s.chance(2) {
				t["effect"] = s.pick(effects)
			}
			tols = append(tols, t)
		}
		w["tolerations"] = tols
	}
	return w
}
