#!/bin/sh
# `make run`: start turnpike in the foreground on a local configuration
# (examples/local.conf: loopback only, port 3478 or $PORT). Extra options
# go in $ARGS, e.g. `make run ARGS=-V` or `make run PORT=13478`.
set -eu
bin=${1:-bin/turnpike}
port=${PORT:-3478}
conf=examples/local.conf

cat <<MSG
turnpike: starting in the foreground with $conf on port $port (Ctrl-C stops).
Try it from another terminal:
  turnutils_stunclient -p $port 127.0.0.1     (Debian package coturn)
  stun 127.0.0.1 -p $port -v                  (Debian package stun-client)
MSG
# shellcheck disable=SC2086
exec "$bin" -c "$conf" --listening-port "$port" ${ARGS:-}
