#!/usr/bin/env bash
# Installs the machine packages the project needs and are not Python packages: PostgreSQL (tests
# and `make run` start their own servers), Debian's Chromium (browser tests), Go (building the
# local control plane), and what npm needs to build code-server's native modules from source
# (a C++ compiler and make for node-gyp; the Kerberos headers for its `kerberos` module; their
# prebuilt binaries would come from GitHub). Does nothing when they are present.
set -euo pipefail

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1; } || missing+=(g++ make)
[[ -f /usr/include/gssapi/gssapi.h ]] || missing+=(libkrb5-dev)

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "error: missing system packages: ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "==> installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
