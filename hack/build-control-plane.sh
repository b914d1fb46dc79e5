#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok, helm) from Go modules and caches the binaries under
# ~/.cache/apranova/control-plane/<versions>/. Reused when present; never committed.
# `--print-dir` prints that folder (its bin/ and kwok-stages/) without building.
#
# Kubernetes' own go.mod replaces its staging modules with ./staging/..., so `go install
# k8s.io/kubernetes/cmd/...@vX` fails. We build from small wrapper modules instead.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"

CACHE_ROOT="${APRANOVA_CACHE_DIR:-$HOME/.cache/apranova}"
# RECIPE changes whenever this script builds differently, so caches of the old recipe are rebuilt.
RECIPE=2
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}_r${RECIPE}"
OUT="$CACHE_ROOT/control-plane/$KEY"
BIN="$OUT/bin"
STAMP="$OUT/.complete"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$OUT"
  exit 0
fi

if [[ -f "$STAMP" ]]; then
  echo "control plane: cached at $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "error: the Go toolchain (go) is required to build the control plane" >&2; exit 1; }

mkdir -p "$BIN" "$OUT/work"
WORK="$OUT/work"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0
TOTAL_START=$SECONDS

step() {
  local name="$1"; shift
  local start=$SECONDS
  echo "==> building $name ..."
  # A ticker so a first-time user sees the build is alive.
  ( while sleep 30; do echo "    ... still building $name ($((SECONDS - start))s)"; done ) &
  local ticker=$!
  if ! "$@"; then
    kill "$ticker" 2>/dev/null || true
    echo "error: building $name failed" >&2
    return 1
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  echo "    $name done in $((SECONDS - start))s"
}

wrapper_module() {
  # wrapper_module NAME REQUIREMENT PACKAGE...: a module in $WORK/NAME that requires REQUIREMENT
  # and imports each PACKAGE (build-tagged), so `go build PACKAGE` resolves against it. Leaves
  # the shell in that folder.
  local name="$1" requirement="$2"
  shift 2
  local dir="$WORK/$name"
  mkdir -p "$dir"
  printf 'module apranova.local/%s-build\n\ngo 1.26\n' "$name" >"$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"$dir/tools.go"
  cd "$dir"
  go mod edit -require="$requirement"
}

resolve_dependencies() {
  go mod tidy -e >/dev/null 2>&1 || true
  go mod download
}

build_kubernetes() {
  local components=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  wrapper_module kubernetes "k8s.io/kubernetes@${K8S_VERSION}" "${components[@]/#/k8s.io/kubernetes/cmd/}"
  local modfile
  modfile="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local staging_version="v0${K8S_VERSION#v1}"
  # Every `k8s.io/<name> => ./staging/...` line of Kubernetes' go.mod becomes a version replace.
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk '{print $1}' | sort -u | while read -r m; do
    go mod edit -replace="${m}=${m}@${staging_version}"
  done
  # Pin every dependency exactly as Kubernetes pins it.
  grep -E '^\s+[a-z0-9./_-]+ v[0-9]' "$modfile" | grep -v '=>' | grep -v '^\s*k8s.io/kubernetes ' | awk '{print $1"@"$2}' | while read -r req; do
    go mod edit -require="$req"
  done
  resolve_dependencies
  local ver="${K8S_VERSION}"
  local minor="${ver#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w \
    -X k8s.io/component-base/version.gitVersion=${ver} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${minor} \
    -X k8s.io/component-base/version.gitTreeState=clean \
    -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z \
    -X k8s.io/client-go/pkg/version.gitVersion=${ver} \
    -X k8s.io/client-go/pkg/version.gitMajor=1 \
    -X k8s.io/client-go/pkg/version.gitMinor=${minor}"
  for c in "${components[@]}"; do
    step "$c ${ver}" go build -tags tools -ldflags "$ldflags" -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c"
  done
}

build_etcd() {
  wrapper_module etcd "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" go.etcd.io/etcd/server/v3
  resolve_dependencies
  step "etcd ${ETCD_VERSION}" go build -tags tools -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
  wrapper_module kwok "sigs.k8s.io/kwok@${KWOK_VERSION}" sigs.k8s.io/kwok/cmd/kwok
  resolve_dependencies
  step "kwok ${KWOK_VERSION}" go build -tags tools -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok
  # The stages that make pods Running/Ready and nodes Ready ship inside the module.
  local src
  src="$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  rm -rf "$OUT/kwok-stages"
  mkdir -p "$OUT/kwok-stages"
  cp -r "$src"/. "$OUT/kwok-stages/"
  chmod -R u+w "$OUT/kwok-stages"
}

build_helm() {
  wrapper_module helm "helm.sh/helm/v3@${HELM_VERSION}" helm.sh/helm/v3/cmd/helm
  resolve_dependencies
  # helm template/lint assume this Kubernetes version unless --kube-version says otherwise.
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${minor}"
  done
  step "helm ${HELM_VERSION}" go build -tags tools -ldflags "$ldflags" -o "$BIN/helm" helm.sh/helm/v3/cmd/helm
}

echo "Building the local control plane into $OUT (first time only; about 15-20 minutes on 2 cores)"
build_etcd
build_kwok
build_kubernetes
build_helm
rm -rf "$WORK"
touch "$STAMP"
ln -sfn "$OUT" "$CACHE_ROOT/control-plane/current"
echo "control plane built in $((SECONDS - TOTAL_START))s: $BIN"
