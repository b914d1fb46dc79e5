#!/usr/bin/env bash
# Builds the HTTP load generator vegeta (the Go module github.com/tsenart/vegeta/v12, fetched
# through the Go module proxy) into ~/.cache/apranova/vegeta-<version>/bin/. Reused when present;
# never committed. `make bench` / `make bench-quick` drive the API's poll and webhook phases with
# it, in its own process, so the load generator does not share the interpreter (and the GIL) of
# the benchmark's counting proxies and stand-ins.
# `--print-bin` prints the path of the binary without building.
set -euo pipefail

VEGETA_VERSION="${VEGETA_VERSION:-v12.13.0}"
CACHE_ROOT="${APRANOVA_CACHE_DIR:-$HOME/.cache/apranova}"
OUT="$CACHE_ROOT/vegeta-$VEGETA_VERSION"
BINARY="$OUT/bin/vegeta"

if [[ "${1:-}" == "--print-bin" ]]; then
  echo "$BINARY"
  exit 0
fi

if [[ -x "$BINARY" ]]; then
  echo "vegeta: cached at $BINARY"
  exit 0
fi

PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "error: the Go toolchain (go) is required to build vegeta" >&2; exit 1; }

start=$SECONDS
echo "==> building vegeta $VEGETA_VERSION ..."
rm -rf "$OUT/bin.partial"
mkdir -p "$OUT/bin.partial"
# Built into a temporary folder and renamed, so an interrupted build is never taken for a cache.
GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath" CGO_ENABLED=0 GOBIN="$OUT/bin.partial" \
  go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
rm -rf "$OUT/bin"
mv "$OUT/bin.partial" "$OUT/bin"
echo "    vegeta done in $((SECONDS - start))s: $BINARY"
