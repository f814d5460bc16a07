#!/usr/bin/env bash
# Installs HAProxy (Debian package) for `parley cluster` and its tests, when missing.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "haproxy is missing: install it with 'sudo apt-get install haproxy'" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
# The package starts a system service on port 80 on some systems; the cluster runs its own.
(systemctl disable --now haproxy >/dev/null 2>&1 || service haproxy stop >/dev/null 2>&1 || true)
