#!/bin/sh
# `make run`: start turnpike in the foreground on a local configuration
# (examples/local.conf: loopback only, port 3478 or $PORT, TLS on 5349 or
# $TLS_PORT). With no certificate of your own (CERT=/KEY=), a self-signed
# one is made once in build/run/. Extra options go in $ARGS, e.g.
# `make run ARGS=-V` or `make run PORT=13478 TLS_PORT=15349`.
set -eu
bin=${1:-bin/turnpike}
port=${PORT:-3478}
tls_port=${TLS_PORT:-5349}
conf=examples/local.conf
cert=${CERT:-}
key=${KEY:-}

if [ -z "$cert" ]; then
	cert=build/run/selfsigned-cert.pem
	key=build/run/selfsigned-key.pem
	if [ ! -f "$cert" ] || [ ! -f "$key" ]; then
		mkdir -p build/run
		openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
		    -subj /CN=localhost \
		    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
		    -keyout "$key" -out "$cert" 2>/dev/null
		echo "turnpike: no certificate configured: made a self-signed one in $cert"
	else
		echo "turnpike: using the self-signed certificate in $cert"
	fi
fi

cat <<MSG
turnpike: starting in the foreground with $conf (Ctrl-C stops).
  STUN/TURN: udp and tcp 127.0.0.1:$port and [::1]:$port, TLS on $tls_port
  demo account: user demo, password demo-password, realm turnpike.local
Try it from another terminal (Debian packages coturn and stun-client):
  turnutils_stunclient -p $port 127.0.0.1
  turnutils_uclient -p $port -u demo -w demo-password -y 127.0.0.1
  turnutils_uclient -p $tls_port -t -S -u demo -w demo-password -y 127.0.0.1
  stun 127.0.0.1 -p $port -v
In a browser (two tabs make a call; the check page tests STUN/TURN):
  http://127.0.0.1:$port/call    http://127.0.0.1:$port/check
  https://127.0.0.1:$tls_port/call (self-signed: accept the warning)
  signaling WebSocket: ws://127.0.0.1:$port/ws
MSG
# shellcheck disable=SC2086
exec "$bin" -c "$conf" --listening-port "$port" \
    --tls-listening-port "$tls_port" --cert "$cert" --pkey "$key" ${ARGS:-}
