#!/bin/sh
# `make run`: a development instance in var/dev, created on first use with
# `tessera init --dev`, then tesserad in the foreground on 127.0.0.1:8443.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
data="$top/var/dev"

if [ ! -f "$data/tesserad.conf" ]; then
	mkdir -p "$top/var"
	"$top/$build/tessera" init --data "$data" --dev --admin admin
	echo
	echo "Enroll the admin: open the link above in a browser (the certificate"
	echo "is var/dev/tls.crt, self-signed), or in a terminal:"
	echo "  $build/tessera --ca-file var/dev/tls.crt enroll '<link>'"
	echo "Either way you choose a password and scan a QR code with an"
	echo "authenticator app."
else
	echo "Reusing the development instance in var/dev."
	echo "Start over with: rm -rf var/dev && make run"
fi
echo
echo "Then sign in at https://127.0.0.1:8443/ or get a certificate with:"
echo "  $build/tessera --server https://127.0.0.1:8443 --ca-file var/dev/tls.crt login --user admin"
echo
exec "$top/$build/tesserad" --config "$data/tesserad.conf"
