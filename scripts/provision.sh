#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: Chromium at
# /usr/bin/chromium (Playwright runs it; no browser is downloaded) and
# redis-server (the cluster tests start their own, on a free loopback port),
# nginx-light and docker-compose (the deployment test).
# Idempotent and quiet: does nothing when everything is there; without root or
# apt-get it says what to install and leaves the decision to you.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
# The deployment test runs deploy/nginx.conf in front of two nodes, and checks the compose file.
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "provision: missing ${missing[*]}; install it with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi

echo "provision: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null; }
# A fresh image may have no package lists yet.
apt_install 2>/dev/null || { apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null && apt_install; }
