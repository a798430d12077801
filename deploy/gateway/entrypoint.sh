#!/bin/sh
# The gateway's entry point (deploy/gateway/Dockerfile), as root: give the
# account `tessera` the group of the mounted Docker socket (its gid is the
# node's, unknown when the image is built), take this node's join token
# from the tokens secret, then become `tessera target agent --gateway
# --exec-sshd`, whose sshd is the container's main process.  Arguments go
# to sshd.
set -eu

SOCK=/var/run/docker.sock
TOKENS=${TESSERA_GATEWAY_TOKENS:-/run/secrets/tessera_gateway_tokens}
NODE=${TESSERA_NODE:-$(hostname)}

fail() {
	echo "tessera-gateway: $*" >&2
	exit 1
}

[ -S "$SOCK" ] || fail "$SOCK is not a socket: mount the node's Docker socket"
gid=$(stat -c %g "$SOCK")
group=$(getent group "$gid" | cut -d: -f1) || true
if [ -z "$group" ]; then
	group=docker-sock
	groupadd --gid "$gid" "$group"
fi
usermod -a -G "$group" tessera

[ -r "$TOKENS" ] || fail "cannot read the join tokens $TOKENS"
token=$(awk -v n="$NODE" '$1 == n { print $2; exit }' "$TOKENS")
[ -n "$token" ] || fail "no join token for node $NODE in $TOKENS (a line \"$NODE TOKEN\")"
export TESSERA_JOIN_TOKEN="$token"

exec /usr/bin/tessera --ca-file /etc/tessera/tls.crt target agent \
    --gateway --token-env TESSERA_JOIN_TOKEN --exec-sshd -- "$@"
