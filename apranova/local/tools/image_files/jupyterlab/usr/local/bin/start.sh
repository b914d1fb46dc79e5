#!/bin/bash
# docker-stacks start.sh for a non-root user: run the start hooks (none here), then the command.
set -e
exec "$@"
