#!/usr/bin/env bash
# Builds Stripe's official mock server, stripe-mock (the Go module github.com/stripe/stripe-mock,
# fetched through the Go module proxy), into ~/.cache/apranova/stripe-mock/<version>/bin/.
# Reused when present; never committed. The payment tests forward every Stripe request they make
# to it, so Stripe's own OpenAPI description checks parameters, enums and types.
# `--print-bin` prints the path of the binary without building.
set -euo pipefail

STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"
CACHE_ROOT="${APRANOVA_CACHE_DIR:-$HOME/.cache/apranova}"
OUT="$CACHE_ROOT/stripe-mock/$STRIPE_MOCK_VERSION"
BINARY="$OUT/bin/stripe-mock"

if [[ "${1:-}" == "--print-bin" ]]; then
  echo "$BINARY"
  exit 0
fi

if [[ -x "$BINARY" ]]; then
  echo "stripe-mock: cached at $BINARY"
  exit 0
fi

command -v go >/dev/null || { echo "error: the Go toolchain (go) is required to build stripe-mock" >&2; exit 1; }

start=$SECONDS
echo "==> building stripe-mock $STRIPE_MOCK_VERSION ..."
mkdir -p "$OUT/bin.partial"
# Built into a temporary folder and renamed, so an interrupted build is never taken for a cache.
GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath" CGO_ENABLED=0 GOBIN="$OUT/bin.partial" \
  go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
rm -rf "$OUT/bin"
mv "$OUT/bin.partial" "$OUT/bin"
echo "    stripe-mock done in $((SECONDS - start))s: $BINARY"
