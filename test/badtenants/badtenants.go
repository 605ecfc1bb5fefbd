// Package badtenants is the table of Tenants the API server must refuse —
// every invalid shape the API contract lists, plus label and annotation
// syntax, size limits and name-length boundaries — with the words each
// refusal must contain (the field, and why), and the valid Tenants at the
// same boundaries that must be accepted. The envtest suite sends them
// through the client, the e2e suite through kubectl.
package badtenants

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Base is the valid Tenant every case changes one thing of.
const Base = `
apiVersion: tenantry.io/v1alpha1
kind: Tenant
metadata:
  name: valid
spec:
  owners:
  - {kind: Group, name: admins, apiGroup: rbac.authorization.k8s.io}
  namespaces:
  - name: valid-a
`

// Case is one change to Base.
type Case struct {
	Name string
	// Set is a JSON object whose keys replace those of Base's spec (null deletes).
	Set string
	// Meta replaces metadata.name when set.
	Meta string
	// Want are the strings the refusal must contain.
	Want []string
}

// Tenant returns Base with the case's change.
func (c Case) Tenant() (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(Base), &obj.Object); err != nil {
		return nil, err
	}
	if c.Set != "" {
		var patch map[string]any
		if err := json.Unmarshal([]byte(c.Set), &patch); err != nil {
			return nil, fmt.Errorf("case %q: %w", c.Name, err)
		}
		spec := obj.Object["spec"].(map[string]any)
		for k, v := range patch {
			if v == nil {
				delete(spec, k)
			} else {
				spec[k] = v
			}
		}
	}
	if c.Meta != "" {
		obj.SetName(c.Meta)
	}
	return obj, nil
}

// Invalid are the Tenants the API server must refuse.
var Invalid = []Case{
	{Name: "owners missing", Set: `{"owners": null}`, Want: []string{"spec.owners", "Required value"}},
	{Name: "owners empty", Set: `{"owners": []}`, Want: []string{"spec.owners", "should have at least 1 items"}},
	{Name: "owner kind invalid", Set: `{"owners": [{"kind": "Robot", "name": "r2"}]}`, Want: []string{"spec.owners[0].kind", "Unsupported value", "Robot"}},
	{Name: "owner ServiceAccount without namespace", Set: `{"owners": [{"kind": "ServiceAccount", "name": "ci"}]}`, Want: []string{"spec.owners", "ServiceAccount subject needs a namespace"}},
	{Name: "owner name empty", Set: `{"owners": [{"kind": "User", "name": ""}]}`, Want: []string{"spec.owners[0].name", "should be at least 1 chars long"}},
	{Name: "more than 32 owners", Set: `{"owners": ` + repeatJSON(`{"kind":"User","name":"u"}`, 33) + `}`, Want: []string{"spec.owners", "must have at most 32 items"}},
	{Name: "selfService maxNamespaces negative", Set: `{"selfService": {"maxNamespaces": -1}}`, Want: []string{"spec.selfService.maxNamespaces", "should be greater than or equal to 0"}},
	{Name: "selfService namePrefix not a DNS label's start", Set: `{"selfService": {"maxNamespaces": 1, "namePrefix": "Team-"}}`, Want: []string{"spec.selfService.namePrefix", "should match"}},
	{Name: "selfService deletionPolicy unknown", Set: `{"selfService": {"maxNamespaces": 1, "deletionPolicy": "Cascade"}}`, Want: []string{"spec.selfService.deletionPolicy", "Unsupported value"}},
	{Name: "namespace name not a DNS label", Set: `{"namespaces": [{"name": "Team_A"}]}`, Want: []string{"spec.namespaces[0].name", "should match"}},
	{Name: "namespace name too long", Set: `{"namespaces": [{"name": "` + strings.Repeat("a", 64) + `"}]}`, Want: []string{"spec.namespaces[0].name", "may not be more than 63"}},
	{Name: "duplicate namespace", Set: `{"namespaces": [{"name": "dup"}, {"name": "dup"}]}`, Want: []string{"spec.namespaces[1]", "Duplicate value"}},
	{Name: "more than 128 namespaces", Set: `{"namespaces": ` + manyNamespaces(129) + `}`, Want: []string{"spec.namespaces", "must have at most 128 items"}},
	{Name: "reserved label on a namespace", Set: `{"namespaces": [{"name": "x", "labels": {"tenantry.io/tenant": "other"}}]}`, Want: []string{"spec.namespaces[0].labels", "reserved"}},
	{Name: "adoption record forged through a namespace's annotations", Set: `{"namespaces": [{"name": "x", "annotations": {"tenantry.io/adopted": "{}"}}]}`, Want: []string{"spec.namespaces[0].annotations", "reserved"}},
	{Name: "tenant UID forged through namespaceMetadata", Set: `{"namespaceMetadata": {"annotations": {"tenantry.io/tenant-uid": "x"}}}`, Want: []string{"spec.namespaceMetadata.annotations", "reserved"}},
	{Name: "system namespace", Set: `{"namespaces": [{"name": "kube-system"}]}`, Want: []string{"spec.namespaces[0].name", "system namespace"}},
	{Name: "owner binding anonymous", Set: `{"owners": [{"kind": "Group", "name": "system:unauthenticated", "apiGroup": "rbac.authorization.k8s.io"}]}`, Want: []string{"spec.owners[0]", "anonymous"}},
	{Name: "owners: all authenticated users", Set: `{"owners": [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}]}`, Want: []string{"spec.owners[0]", "all users"}},
	{Name: "roleBinding to all service accounts", Set: `{"roleBindings": [{"name": "a", "clusterRole": "admin", "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]}]}`, Want: []string{"spec.roleBindings[0].subjects[0]", "all service accounts"}},
	{Name: "roleBinding to the anonymous user", Set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": [{"kind": "User", "name": "system:anonymous"}]}]}`, Want: []string{"spec.roleBindings[0].subjects[0]", "anonymous"}},
	{Name: "PSA label smuggled through namespaceMetadata", Set: `{"namespaceMetadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}`, Want: []string{"spec.namespaceMetadata.labels", "reserved"}},
	{Name: "unknown podSecurity level", Set: `{"podSecurity": {"enforce": "lenient"}}`, Want: []string{"spec.podSecurity.enforce", "Unsupported value", "lenient"}},
	{Name: "unknown per-namespace podSecurity level", Set: `{"namespaces": [{"name": "x", "podSecurity": {"warn": "none"}}]}`, Want: []string{"spec.namespaces[0].podSecurity.warn", "Unsupported value"}},
	{Name: "bad enforceVersion", Set: `{"podSecurity": {"enforceVersion": "1.37"}}`, Want: []string{"spec.podSecurity.enforceVersion", "should match"}},
	{Name: "roleBinding name not a DNS label", Set: `{"roleBindings": [{"name": "Auditors!", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}]}`, Want: []string{"spec.roleBindings[0].name", "should match"}},
	{Name: "duplicate roleBinding name", Set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}, {"name": "a", "clusterRole": "edit", "subjects": [{"kind": "Group", "name": "b"}]}]}`, Want: []string{"spec.roleBindings[1]", "Duplicate value"}},
	{Name: "roleBinding named owner (reserved)", Set: `{"roleBindings": [{"name": "owner", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}]}`, Want: []string{"spec.roleBindings", "reserved"}},
	{Name: "roleBinding subject kind invalid", Set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": [{"kind": "Team", "name": "a"}]}]}`, Want: []string{"spec.roleBindings[0].subjects[0].kind", "Unsupported value", "Team"}},
	{Name: "roleBinding without subjects", Set: `{"roleBindings": [{"name": "a", "clusterRole": "view", "subjects": []}]}`, Want: []string{"spec.roleBindings[0].subjects", "at least 1 items"}},
	{Name: "duplicate quota name", Set: `{"resourceQuotas": [{"name": "q", "hard": {"pods": "1"}}, {"name": "q", "hard": {"pods": "2"}}]}`, Want: []string{"spec.resourceQuotas[1]", "Duplicate value"}},
	{Name: "quota name not a DNS label", Set: `{"resourceQuotas": [{"name": "Q.1", "hard": {"pods": "1"}}]}`, Want: []string{"spec.resourceQuotas[0].name", "should match"}},
	{Name: "quota quantity invalid", Set: `{"resourceQuotas": [{"name": "q", "hard": {"pods": "lots"}}]}`, Want: []string{"spec.resourceQuotas[0].hard.pods", "should match"}},
	{Name: "quota scope unknown", Set: `{"resourceQuotas": [{"name": "q", "scope": "Cluster", "hard": {"pods": "1"}}]}`, Want: []string{"spec.resourceQuotas[0].scope", `Unsupported value: "Cluster"`, `"Namespace", "Tenant"`}},
	{Name: "quota without hard limits", Set: `{"resourceQuotas": [{"name": "q", "hard": {}}]}`, Want: []string{"spec.resourceQuotas[0].hard", "at least 1 properties"}},
	{Name: "duplicate policy name", Set: `{"networkPolicy": {"policies": [{"name": "p", "spec": {"podSelector": {}}}, {"name": "p", "spec": {"podSelector": {}}}]}}`, Want: []string{"spec.networkPolicy.policies[1]", "Duplicate value"}},
	{Name: "policy name not a DNS label", Set: `{"networkPolicy": {"policies": [{"name": "-p", "spec": {"podSelector": {}}}]}}`, Want: []string{"spec.networkPolicy.policies[0].name", "should match"}},
	{Name: "policy named isolation (reserved)", Set: `{"networkPolicy": {"policies": [{"name": "isolation", "spec": {"podSelector": {}}}]}}`, Want: []string{"spec.networkPolicy.policies", "reserved"}},
	{Name: "unknown isolation", Set: `{"networkPolicy": {"isolation": "Cluster"}}`, Want: []string{"spec.networkPolicy.isolation", "Unsupported value", "Cluster"}},
	{Name: "unknown deletionPolicy", Set: `{"deletionPolicy": "Purge"}`, Want: []string{"spec.deletionPolicy", "Unsupported value"}},
	{Name: "unknown adoptionPolicy", Set: `{"adoptionPolicy": "Always"}`, Want: []string{"spec.adoptionPolicy", "Unsupported value"}},
	{Name: "unknown driftPolicy", Set: `{"driftPolicy": "Ignore"}`, Want: []string{"spec.driftPolicy", "Unsupported value"}},
	{Name: "limitRange without limits", Set: `{"limitRange": {"limits": []}}`, Want: []string{"spec.limitRange.limits", "at least 1 items"}},
	{Name: "tenant name not a DNS label", Meta: "team.a", Want: []string{"metadata.name", "DNS label"}},
	// Label and annotation syntax: the namespace would be refused later, so
	// the Tenant is refused now.
	{Name: "label key with a space", Set: `{"namespaceMetadata": {"labels": {"bad key": "x"}}}`, Want: []string{"spec.namespaceMetadata.labels", "label keys must be qualified names"}},
	{Name: "label key with an uppercase prefix", Set: `{"namespaces": [{"name": "x", "labels": {"Example.com/team": "x"}}]}`, Want: []string{"spec.namespaces[0].labels", "label keys must be qualified names"}},
	{Name: "label key name part of 64 characters", Set: `{"namespaceMetadata": {"labels": {"` + strings.Repeat("k", 64) + `": "x"}}}`, Want: []string{"spec.namespaceMetadata.labels", "label keys must be qualified names"}},
	{Name: "label value with a space", Set: `{"namespaceMetadata": {"labels": {"env": "not valid"}}}`, Want: []string{"spec.namespaceMetadata.labels.env", "should match"}},
	{Name: "label value of 64 characters", Set: `{"namespaces": [{"name": "x", "labels": {"env": "` + strings.Repeat("v", 64) + `"}}]}`, Want: []string{"spec.namespaces[0].labels.env", "may not be more than 63"}},
	{Name: "annotation key with two slashes", Set: `{"namespaceMetadata": {"annotations": {"a/b/c": "x"}}}`, Want: []string{"spec.namespaceMetadata.annotations", "annotation keys must be qualified names"}},
	{Name: "annotation value over 2048 characters", Set: `{"namespaces": [{"name": "x", "annotations": {"note": "` + strings.Repeat("x", 2049) + `"}}]}`, Want: []string{"spec.namespaces[0].annotations", "annotation values must be at most 2048 characters"}},
	{Name: "more than 64 namespace labels", Set: `{"namespaceMetadata": {"labels": ` + manyKeys(65) + `}}`, Want: []string{"spec.namespaceMetadata.labels", "must have at most 64 items"}},
	// Subjects the RBAC API would refuse in the bindings.
	{Name: "ServiceAccount owner with an invalid name", Set: `{"owners": [{"kind": "ServiceAccount", "name": "Bad_Name", "namespace": "ci"}]}`, Want: []string{"spec.owners", "ServiceAccount subject's name must be a DNS subdomain"}},
	{Name: "ServiceAccount owner with an invalid namespace", Set: `{"owners": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "CI"}]}`, Want: []string{"spec.owners[0].namespace", "should match"}},
	{Name: "User owner with a foreign apiGroup", Set: `{"owners": [{"kind": "User", "name": "alice", "apiGroup": "example.com"}]}`, Want: []string{"spec.owners", "apiGroup must be rbac.authorization.k8s.io"}},
	{Name: "roleBinding ServiceAccount subject with an apiGroup", Set: `{"roleBindings": [{"name": "ci", "clusterRole": "edit", "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci", "apiGroup": "rbac.authorization.k8s.io"}]}]}`, Want: []string{"spec.roleBindings[0].subjects", "apiGroup must be"}},
	// Sizes and name-length boundaries.
	{Name: "tenant name of 64 characters", Meta: strings.Repeat("t", 64), Want: []string{"metadata.name", "at most 63 characters"}},
	{Name: "quota name of 55 characters (tenantry-<name> would pass 63)", Set: `{"resourceQuotas": [{"name": "` + strings.Repeat("q", 55) + `", "hard": {"pods": "1"}}]}`, Want: []string{"spec.resourceQuotas[0].name", "may not be more than 54"}},
	{Name: "roleBinding name of 55 characters", Set: `{"roleBindings": [{"name": "` + strings.Repeat("r", 55) + `", "clusterRole": "view", "subjects": [{"kind": "Group", "name": "a"}]}]}`, Want: []string{"spec.roleBindings[0].name", "may not be more than 54"}},
	{Name: "more than 16 quotas", Set: `{"resourceQuotas": ` + manyQuotas(17) + `}`, Want: []string{"spec.resourceQuotas", "must have at most 16 items"}},
	{Name: "spec larger than the API server takes (3 MiB)", Set: `{"namespaces": ` + hugeNamespaces() + `}`, Want: []string{"entity too large"}},
	// Workload guardrails: each refused value names its field.
	{Name: "registry without the final slash", Set: `{"workloads": {"registries": ["ghcr.io/team-a"]}}`, Want: []string{"spec.workloads.registries[0]", "image reference prefix ending in '/'"}},
	{Name: "registry that is no image reference", Set: `{"workloads": {"registries": ["ghcr.io/team-a/", "https://evil.example.com/"]}}`, Want: []string{"spec.workloads.registries[1]", "image reference prefix"}},
	{Name: "registry with uppercase path", Set: `{"workloads": {"registries": ["ghcr.io/Team/"]}}`, Want: []string{"spec.workloads.registries[0]", "image reference prefix"}},
	{Name: "unknown image pull policy", Set: `{"workloads": {"imagePullPolicy": "IfNotPresent"}}`, Want: []string{"spec.workloads.imagePullPolicy", "Unsupported value", "IfNotPresent"}},
	{Name: "storage class not a DNS subdomain", Set: `{"workloads": {"storageClasses": ["Fast_SSD"]}}`, Want: []string{"spec.workloads.storageClasses[0]", "class name must be a DNS subdomain"}},
	{Name: "priority class with a comma", Set: `{"workloads": {"priorityClasses": ["a,b"]}}`, Want: []string{"spec.workloads.priorityClasses[0]", "class name must be a DNS subdomain"}},
	{Name: "hostname with a wildcard inside", Set: `{"workloads": {"hostnames": ["a.*.example.com"]}}`, Want: []string{"spec.workloads.hostnames[0]", "one leading '*.' label"}},
	{Name: "hostname with two wildcard labels", Set: `{"workloads": {"hostnames": ["*.*.example.com"]}}`, Want: []string{"spec.workloads.hostnames[0]", "one leading '*.' label"}},
	{Name: "hostname that is an IP address", Set: `{"workloads": {"hostnames": ["10.0.0.1"]}}`, Want: []string{"spec.workloads.hostnames[0]", "not an IP address"}},
	{Name: "uppercase hostname", Set: `{"workloads": {"hostnames": ["Team-A.example.com"]}}`, Want: []string{"spec.workloads.hostnames[0]", "lowercase DNS name"}},
	{Name: "duplicate hostname", Set: `{"workloads": {"hostnames": ["a.example.com", "a.example.com"]}}`, Want: []string{"spec.workloads.hostnames[1]", "Duplicate value"}},
	{Name: "unknown service type", Set: `{"workloads": {"serviceTypes": ["ClusterIP", "Headless"]}}`, Want: []string{"spec.workloads.serviceTypes[1]", "Unsupported value", "Headless"}},
	{Name: "node selector key not a label key", Set: `{"workloads": {"nodeSelector": {"bad key": "x"}}}`, Want: []string{"spec.workloads.nodeSelector", "node selector keys must be qualified names"}},
	{Name: "node selector value not a label value", Set: `{"workloads": {"nodeSelector": {"pool": "team a"}}}`, Want: []string{"spec.workloads.nodeSelector.pool", "should match"}},
	{Name: "toleration Exists with a value", Set: `{"workloads": {"tolerations": [{"key": "pool", "operator": "Exists", "value": "team-a"}]}}`, Want: []string{"spec.workloads.tolerations[0].value", "operator Exists matches every value"}},
	{Name: "toleration with an unknown effect", Set: `{"workloads": {"tolerations": [{"key": "pool", "value": "a", "effect": "NoRun"}]}}`, Want: []string{"spec.workloads.tolerations[0].effect", "Unsupported value", "NoRun"}},
	{Name: "toleration with an unknown operator", Set: `{"workloads": {"tolerations": [{"key": "pool", "operator": "In"}]}}`, Want: []string{"spec.workloads.tolerations[0].operator", "Unsupported value"}},
	{Name: "toleration without a key", Set: `{"workloads": {"tolerations": [{"operator": "Exists"}]}}`, Want: []string{"spec.workloads.tolerations[0].key", "Required value"}},
	{Name: "toleration key not a label key", Set: `{"workloads": {"tolerations": [{"key": "a b", "operator": "Exists"}]}}`, Want: []string{"spec.workloads.tolerations[0].key", "qualified name"}},
	{Name: "unknown egress preset", Set: `{"networkPolicy": {"egress": "Everything"}}`, Want: []string{"spec.networkPolicy.egress", "Unsupported value", "Everything"}},
	{Name: "more than 32 allowEgressTo peers", Set: `{"networkPolicy": {"egress": "Tenant", "allowEgressTo": ` + repeatJSON(`{"ipBlock":{"cidr":"10.0.0.0/8"}}`, 33) + `}}`, Want: []string{"spec.networkPolicy.allowEgressTo", "must have at most 32 items"}},
}

// Valid are Tenants at the same boundaries that must be accepted.
var Valid = []Case{
	{Name: "the base"},
	{Name: "tenant name of 63 characters", Meta: strings.Repeat("t", 63)},
	{Name: "namespace name of 63 characters", Set: `{"namespaces": [{"name": "` + strings.Repeat("n", 63) + `"}]}`},
	{Name: "tenant-wide quota", Set: `{"resourceQuotas": [{"name": "q", "scope": "Tenant", "hard": {"pods": "10", "requests.cpu": "4"}}]}`},
	{Name: "quota name of 54 characters", Set: `{"resourceQuotas": [{"name": "` + strings.Repeat("q", 54) + `", "hard": {"pods": "1"}}]}`},
	{Name: "prefixed label key, empty value, 63-character value", Set: `{"namespaceMetadata": {"labels": {"example.com/team": "", "env": "` + strings.Repeat("v", 63) + `"}}}`},
	{Name: "annotation value of 2048 characters", Set: `{"namespaceMetadata": {"annotations": {"example.com/note": "` + strings.Repeat("x", 2048) + `"}}}`},
	{Name: "ServiceAccount owner", Set: `{"owners": [{"kind": "ServiceAccount", "name": "deployer.v2", "namespace": "ci"}]}`},
	{Name: "every guardrail", Set: `{"workloads": {"registries": ["ghcr.io/team-a/", "localhost:5000/", "registry.example.com/a/b/"],
		"imagePullPolicy": "Always", "storageClasses": ["standard"], "priorityClasses": ["tenant-normal", "tenant-batch"],
		"runtimeClasses": ["gvisor"], "ingressClasses": ["nginx"], "hostnames": ["team-a.example.com", "*.team-a.example.com", "x"],
		"serviceTypes": ["ClusterIP", "ExternalName"], "nodeSelector": {"pool": "team-a", "kubernetes.io/arch": "amd64"},
		"tolerations": [{"key": "pool", "operator": "Equal", "value": "team-a", "effect": "NoSchedule"}, {"key": "gpu", "operator": "Exists"}]},
		"networkPolicy": {"isolation": "None", "egress": "Namespace", "allowEgressTo": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "egress-proxy"}}}, {"ipBlock": {"cidr": "10.0.0.0/8"}}]}}`},
}

func repeatJSON(item string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func manyNamespaces(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"name":"ns-%d"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func manyKeys(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d": "v"`, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func manyQuotas(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"name":"q%d","hard":{"pods":"1"}}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// hugeNamespaces is 128 namespaces, each within every per-field limit, that
// together exceed the API server's 3 MiB request limit.
func hugeNamespaces() string {
	annotations := map[string]string{}
	for i := range 32 {
		annotations[fmt.Sprintf("example.com/note-%d", i)] = strings.Repeat("x", 2048)
	}
	var nss []map[string]any
	for i := range 128 {
		nss = append(nss, map[string]any{"name": fmt.Sprintf("huge-%d", i), "annotations": annotations})
	}
	data, _ := json.Marshal(nss)
	return string(data)
}
