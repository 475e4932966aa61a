#!/usr/bin/env bash
# Installs what the end-to-end tests need, from the package registries:
#   e2e/.venv               Python venv with the pinned SDKs of requirements.txt
#   e2e/node/node_modules   the pinned npm packages of node/package-lock.json
#   Debian packages         the real registry clients and peers (skopeo, podman,
#                           docker-registry = CNCF Distribution, nginx, wrk),
#                           with apt-get, as root or through sudo, when missing
# Idempotent: a second run only compares two checksums, looks for five
# commands, and returns.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
start=$(date +%s)

need() { command -v "$1" >/dev/null 2>&1 || { echo "e2e/setup.sh: $1 not found ($2)" >&2; exit 2; }; }
need "$PYTHON" "Python 3.9+ with venv is required"
need node "Node.js 18+ is required for the pop-core client"
need npm "npm is required to install the Node SDKs"

# Debian and Ubuntu ship venv's pip bootstrap in a package of its own
# (python3.X-venv); without it `python3 -m venv` fails. Installs it with
# apt-get (as root, or through sudo) when that is what is missing.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_venv_package() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1 || return 1
  local version
  version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "e2e/setup.sh: installing python${version}-venv with apt-get (python3 -m venv needs it)"
  as_root apt-get update -qq >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${version}-venv" >/dev/null \
    || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
}

make_venv() {
  rm -rf .venv
  "$PYTHON" -m venv .venv 2>/dev/null && return 0
  rm -rf .venv
  install_venv_package || {
    echo "e2e/setup.sh: \`$PYTHON -m venv\` failed and the venv package could not be installed" \
         "(on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 2
  }
  "$PYTHON" -m venv .venv
}

# --- Python -------------------------------------------------------------------
py_want=$( { sha256sum requirements.txt; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
py_stamp=.venv/.e2e-installed
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys' 2>/dev/null \
   && [ "$(cat "$py_stamp" 2>/dev/null)" = "$py_want" ]; then
  echo "e2e/setup.sh: Python SDKs up to date (.venv)"
else
  echo "e2e/setup.sh: installing Python SDKs into e2e/.venv"
  make_venv
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r requirements.txt
  echo "$py_want" > "$py_stamp"
fi

# --- Debian packages: registry clients and the reference registry -------------
# Used by tests/test_20_clients_vs_distribution.py and the registry tests
# (REGISTRY-CLIENTS.md). The docker CLI is not installed here (Debian's
# docker.io brings an engine); the machine provides the client, and the docker
# tests skip without it. A failed install does not stop the RAM tests: the
# registry-client tests then skip, saying what is missing.
deb_missing=()
for pair in skopeo:skopeo podman:podman docker-registry:docker-registry nginx:nginx wrk:wrk; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/usr/bin/$cmd" ]; then
    deb_missing+=("$pkg")
  fi
done
if [ ${#deb_missing[@]} -eq 0 ]; then
  echo "e2e/setup.sh: registry clients present (skopeo, podman, docker-registry, nginx, wrk)"
elif ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; }; then
  echo "e2e/setup.sh: WARNING: ${deb_missing[*]} missing and apt-get (as root) unavailable;" \
       "the registry-client tests will skip" >&2
else
  echo "e2e/setup.sh: installing ${deb_missing[*]} with apt-get"
  apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o Dpkg::Use-Pty=0 "$@" >/dev/null 2>&1
  }
  if ! apt_install "${deb_missing[@]}"; then
    as_root apt-get update -qq >/dev/null 2>&1 || true
    apt_install "${deb_missing[@]}" || echo "e2e/setup.sh: WARNING: apt-get install" \
      "${deb_missing[*]} failed; the registry-client tests will skip" >&2
  fi
fi

# --- Node.js ------------------------------------------------------------------
node_want=$( { sha256sum node/package.json node/package-lock.json; node --version; } | sha256sum | cut -d' ' -f1)
node_stamp=node/node_modules/.e2e-installed
if [ "$(cat "$node_stamp" 2>/dev/null)" = "$node_want" ]; then
  echo "e2e/setup.sh: Node SDKs up to date (node/node_modules)"
else
  echo "e2e/setup.sh: installing Node SDKs into e2e/node/node_modules"
  # --ignore-scripts: the only install script (@alicloud/openapi-core's
  # select-version) installs an old TypeScript for Node 10/12 and does nothing
  # on Node 18+.
  (cd node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$node_want" > "$node_stamp"
fi

echo "e2e/setup.sh: ready in $(( $(date +%s) - start ))s"
