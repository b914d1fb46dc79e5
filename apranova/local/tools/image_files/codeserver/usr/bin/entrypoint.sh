#!/bin/sh
# code-server's release-image entrypoint for an existing non-root user: run code-server.
set -eu
exec code-server "$@"
