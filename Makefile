# Tenantry — the two commands that matter: `make demo` and `make test`.

K8S_VERSION ?= 1.37.2
K8S_BIN_DIR ?= $(CURDIR)/bin/k8s/$(K8S_VERSION)
KUBECTL ?= $(K8S_BIN_DIR)/kubectl
IMG ?= ghcr.io/tenantry/tenantry:v0.1.0
# Flux's controllers for test/gitops, pinned in hack/flux/go.mod.
FLUX_VERSION ?= v1.9.6
FLUX_BIN_DIR ?= $(CURDIR)/bin/flux/$(FLUX_VERSION)

# Tools are pinned in hack/tools/go.mod and run with `go tool`.
TOOLS := go tool -modfile=$(CURDIR)/hack/tools/go.mod
CONTROLLER_GEN := $(TOOLS) controller-gen
GOLANGCI_LINT := $(TOOLS) golangci-lint
HELM := go tool -modfile=$(CURDIR)/hack/helm/go.mod helm

export KUBEBUILDER_ASSETS := $(K8S_BIN_DIR)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRD and the operator's ClusterRole from the Go markers; copy them (and the policy) into the Helm chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	cp config/crd/bases/tenantry.io_tenants.yaml config/crd/bases/tenantry.io_tenantclasses.yaml config/crd/bases/tenantry.io_namespaceclaims.yaml charts/tenantry/crds/
	cp config/rbac/role.yaml charts/tenantry/files/manager-role.yaml
	cp config/rbac/leader_election_role.yaml config/rbac/tenant_editor_role.yaml config/rbac/tenant_viewer_role.yaml config/rbac/tenantclass_viewer_role.yaml config/rbac/namespaceclaim_editor_role.yaml config/rbac/namespaceclaim_viewer_role.yaml charts/tenantry/files/
	cp $(filter-out %/kustomization.yaml,$(wildcard config/policies/*.yaml)) charts/tenantry/files/policies/

.PHONY: generate
generate: ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: ## golangci-lint (pinned in hack/tools).
	$(GOLANGCI_LINT) run ./...

.PHONY: docs
docs: ## Generate the API reference (docs/api.md) from the CRD schema.
	go run ./hack/apidocs config/crd/bases/tenantry.io_tenants.yaml docs/api.md
	go run ./hack/apidocs config/crd/bases/tenantry.io_tenantclasses.yaml docs/api-tenantclass.md
	go run ./hack/apidocs config/crd/bases/tenantry.io_namespaceclaims.yaml docs/api-namespaceclaim.md

.PHONY: verify
verify: ## Fail when generated files (CRD, RBAC, deepcopy, chart copies, API docs) or go.mod are stale.
	$(MAKE) manifests generate docs
	go mod tidy
	cd hack/tools && go mod tidy
	cd hack/helm && go mod tidy
	@# -e: tidy also walks the controllers' own tests, whose helm test server is not served; the build does not need it.
	cd hack/flux && go mod tidy -e 2>/dev/null
	@git diff --exit-code -- api config charts docs/api.md docs/api-tenantclass.md docs/api-namespaceclaim.md go.mod go.sum hack/tools/go.mod hack/tools/go.sum hack/helm/go.mod hack/helm/go.sum hack/flux/go.mod hack/flux/go.sum || \
		{ echo "Generated files or go.mod are stale: run 'make manifests generate' and 'go mod tidy' and commit."; exit 1; }

##@ Build

.PHONY: build
build: ## Build the manager binary (the same command the Dockerfile runs).
	CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd

.PHONY: cli
cli: ## Build the tenantry command (render and plan; docs/cli.md) into bin/tenantry.
	go build -o bin/tenantry ./cmd/tenantry

.PHONY: k8s-bins
k8s-bins: ## Build etcd, kube-apiserver, kube-controller-manager and kubectl from module source.
	K8S_VERSION=$(K8S_VERSION) K8S_BIN_DIR=$(K8S_BIN_DIR) ./hack/build-k8s-bins.sh

.PHONY: flux-bins
flux-bins: ## Build Flux's source-controller and kustomize-controller (and copy their CRDs) from module source.
	FLUX_VERSION=$(FLUX_VERSION) FLUX_BIN_DIR=$(FLUX_BIN_DIR) ./hack/build-flux-bins.sh

bin/demo: $(shell find hack/demo internal -name '*.go' 2>/dev/null) go.mod
	go build -o bin/demo ./hack/demo

.PHONY: local-cluster
local-cluster: k8s-bins ## Only the local control plane (kubeconfig in .local/kubeconfig), until Ctrl-C.
	go run ./hack/localcluster -bin-dir $(K8S_BIN_DIR) -kubeconfig-out .local/kubeconfig

.PHONY: demo
demo: k8s-bins build bin/demo ## Local control plane + operator + sample Tenants (DEMO_EXIT=1 exits once Ready).
	K8S_BIN_DIR=$(K8S_BIN_DIR) MANAGER_BIN=bin/manager ./bin/demo

##@ Test

.PHONY: test
test: k8s-bins build bin/demo flux-bins test-unit fuzz test-chart test-envtest test-e2e test-reliability test-gitops ## Every test: unit, fuzzing (time-boxed), chart, envtest, end to end, reliability, GitOps.

.PHONY: test-unit
test-unit: ## Pure-logic packages: every package under internal/ but the two that need a real API server, and the benchmark's log reading.
	go test ./api/... ./cmd/... ./test/bench $$(go list ./internal/... | grep -v -e /internal/controller -e /internal/localcluster) -count=1

# Budgets are counts of inputs, about 20 s each on 2 cores: a duration makes
# Go 1.26's fuzzing coordinator fail a target now and then with "context
# deadline exceeded" as the time runs out (go.dev/issue/75804, fixed in 1.27).
FUZZ_RENDER ?= 20000x
FUZZ_EVALUATE ?= 12000x
FUZZ_MERGE ?= 30000x

.PHONY: fuzz
fuzz: ## Fuzz rendering, drift evaluation and the class merge (the seed corpus in testdata/fuzz also runs in test-unit).
	go test ./internal/render -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZ_RENDER) -fuzzminimizetime 5s
	go test ./internal/drift -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime $(FUZZ_EVALUATE) -fuzzminimizetime 5s
	go test ./internal/effective -run '^$$' -fuzz '^FuzzMerge$$' -fuzztime $(FUZZ_MERGE) -fuzzminimizetime 5s

.PHONY: test-chart
test-chart: ## Helm chart: lint, and the same objects as config/default.
	$(HELM) lint --strict charts/tenantry
	go test ./test/chart/... -count=1

.PHONY: test-envtest
test-envtest: ## Reconciler and API validation against a real kube-apiserver (envtest).
	go test ./internal/controller/... ./internal/localcluster/... -count=1 -timeout 20m

.PHONY: test-e2e
test-e2e: ## End to end against the local control plane, operator as its ServiceAccount.
	go test ./test/e2e/... -count=1 -timeout 30m -v -args -ginkgo.no-color

.PHONY: test-reliability
test-reliability: ## Failover, API server outage and the no-data-loss invariant on the local control plane (figures in the -v output).
	go test ./test/reliability/... -count=1 -timeout 20m -v

.PHONY: test-gitops
test-gitops: k8s-bins build flux-bins ## Flux syncing Tenants from Git into two local clusters (figures in the -v output).
	FLUX_BIN_DIR=$(FLUX_BIN_DIR) go test ./test/gitops/... -count=1 -timeout 15m -v -args -ginkgo.no-color

##@ Deployment

.PHONY: deploy
deploy: ## Install config/default into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/default

.PHONY: undeploy
undeploy: ## Remove the operator, keeping the CRD, the Tenants and every tenant namespace.
	$(KUBECTL) delete -k config/default -l app.kubernetes.io/name=tenantry --ignore-not-found

.PHONY: uninstall-crd
uninstall-crd: ## Delete the Tenant CRD and with it every Tenant (run undeploy first, or namespaces are released/deleted per deletionPolicy).
	$(KUBECTL) delete -k config/crd --ignore-not-found

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Benchmark

.PHONY: bench
bench: k8s-bins build ## Scale benchmark against the raw-apply floor (BENCH_TENANTS, BENCH_SWEEP, BENCH_REPORT).
	go build -o bin/bench ./test/bench
	K8S_BIN_DIR=$(K8S_BIN_DIR) MANAGER_BIN=bin/manager ./bin/bench
