#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from their Go module
# source (pinned in hack/flux/go.mod) into bin/flux/<version>/, and copies the
# CRDs they serve from the same module source into bin/flux/<version>/crds/.
# Each binary is skipped when present; the Go build cache keeps rebuilds quick.
# Only the Go module proxy is contacted.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOD=$ROOT/hack/flux
FLUX_VERSION=${FLUX_VERSION:-$(cd "$MOD" && go list -m -f '{{.Version}}' github.com/fluxcd/source-controller)}
OUT=${FLUX_BIN_DIR:-$ROOT/bin/flux/$FLUX_VERSION}
mkdir -p "$OUT/crds"

for name in source-controller kustomize-controller; do
  have=$(cd "$MOD" && go list -m -f '{{.Version}}' "github.com/fluxcd/$name")
  if [ "$have" != "$FLUX_VERSION" ]; then
    echo "hack/flux/go.mod pins $name $have, not $FLUX_VERSION" >&2; exit 1
  fi
  if [ ! -x "$OUT/$name" ]; then
    echo "building $name $FLUX_VERSION (several minutes on a cold cache)"
    (cd "$MOD" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/$name.tmp" "github.com/fluxcd/$name")
    mv "$OUT/$name.tmp" "$OUT/$name"
  fi
  # The module's config/crd/bases holds the CRDs the controller's API serves.
  src=$(cd "$MOD" && go mod download "github.com/fluxcd/$name" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$name")
  for crd in "$src"/config/crd/bases/*.yaml; do
    install -m 0644 "$crd" "$OUT/crds/$(basename "$crd")"
  done
done
echo "Flux $FLUX_VERSION controllers in $OUT"
