#!/bin/sh
# Make the base image deploy/Dockerfile starts from, debian:12-slim, on a
# machine that cannot pull it: a minimal Debian 12 (bookworm) built with
# mmdebstrap from this machine's own apt sources, then `docker import`ed
# under that name.  Does nothing when an image of that name exists, or
# when it can be pulled.
#
# Like the official slim image, dpkg leaves out manuals, documentation
# (copyright files kept) and translations, in the base and in every package
# installed on top of it later; apt's lists and caches are not kept.
#
# usage: scripts/debian-base-image.sh [--force]    (root; needs mmdebstrap)
set -eu

IMAGE=debian:12-slim
SUITE=bookworm

if [ "${1:-}" != "--force" ]; then
	if docker image inspect "$IMAGE" >/dev/null 2>&1; then
		echo "debian-base-image: $IMAGE present"
		exit 0
	fi
	if timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
		echo "debian-base-image: pulled $IMAGE"
		exit 0
	fi
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
	echo "debian-base-image: mmdebstrap missing: apt-get install" \
	    "mmdebstrap" >&2
	exit 1
fi

# The machine's Debian sources for the suite, one file each (mmdebstrap
# pastes a file given as a mirror into the image's sources.list).
set --
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && grep -q "$SUITE" "$f" && set -- "$@" "$f"
done
if [ $# -eq 0 ]; then
	echo "debian-base-image: no apt source for $SUITE in" \
	    "/etc/apt/sources.list*; using the default mirror" >&2
fi

echo "debian-base-image: building $IMAGE with mmdebstrap ($SUITE, minbase)"
# The merged-usr hook makes the /usr links itself, as the official image
# has them; without it bookworm's mmdebstrap installs usrmerge, and with it
# perl (some 50 MB).
mmdebstrap --quiet --variant=minbase \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --aptopt='APT::Install-Recommends "false"' \
    "$SUITE" - "$@" |
    docker import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
docker image inspect -f "debian-base-image: $IMAGE {{.Size}} bytes" "$IMAGE"
