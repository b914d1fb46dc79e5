#!/usr/bin/env bash
# Install the tools of the default Tracks (JupyterLab, Prefect, Superset from PyPI; code-server
# from npm) at their images' versions into ~/.cache/apranova/tools/<kind>-<version>-<digest>/, once.
# Usage: hack/install-tools.sh [jupyterlab|prefect|superset|codeserver ...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m apranova.local.tools.install "$@"
