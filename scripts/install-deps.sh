#!/bin/sh
# Install the Debian packages Tessera needs to build and test, when missing.
# Prints one line and does nothing when everything is present; runs
# `apt-get update` only when it has something to install.
set -eu

PKGS="build-essential meson ninja-build pkg-config
liboath-dev libssl-dev libmicrohttpd-dev liblmdb-dev libcriterion-dev libpq-dev postgresql
libjansson-dev libargon2-dev libqrencode-dev libcurl4-openssl-dev libgnutls28-dev
openssh-server openssh-client oathtool lmdb-utils curl valgrind openssl
chromium nodejs npm docker.io docker-compose mmdebstrap"

missing=""
for p in $PKGS; do
	# A node from elsewhere (its own npm, which conflicts with Debian's
	# npm package) is as good as Debian's.
	case "$p" in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	# Any Docker engine with its CLI (tests/docker).
	docker.io) command -v dockerd >/dev/null 2>&1 &&
	    command -v docker >/dev/null 2>&1 && continue ;;
	# Compose v2 (the docker plugin) serves as well as Debian 12's v1.
	docker-compose) docker compose version >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing" >&2
	echo "install-deps: run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
