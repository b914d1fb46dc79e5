#!/usr/bin/env bash
# Copies the CRDs and the default Tracks into the two install bundles that cannot read files
# outside their own folder: the Helm chart (helm/apranova/crds/, helm/apranova/files/tracks/) and
# the kustomize base (manifests/crds/). crds/ and manifests/tracks/ are the sources; run this after
# changing them. tests/unit/install/test_copies.py fails while a copy differs from its source.
set -euo pipefail
cd "$(dirname "$0")/.."

sync() {
  local source_dir="$1" target_dir="$2"
  mkdir -p "$target_dir"
  rm -f "$target_dir"/*.yaml
  cp "$source_dir"/*.yaml "$target_dir"/
  echo "synced $source_dir -> $target_dir"
}

sync crds helm/apranova/crds
sync crds manifests/crds
sync manifests/tracks helm/apranova/files/tracks
