#!/bin/bash
# The container's liveness probe: GET /healthz (a TCP connect under TLS) on the address of DIRECTOR_HTTP_LISTEN (a wildcard address is
# probed on loopback). Plain bash (/dev/tcp): the image carries no HTTP client.
set -euo pipefail
listen="${DIRECTOR_HTTP_LISTEN:-127.0.0.1:8080}"
port="${listen##*:}"
host="${listen%:*}"
host="${host#[}"
host="${host%]}"
case "$host" in
    0.0.0.0 | "" ) host=127.0.0.1 ;;
    :: ) host=::1 ;;
esac
exec 3<>"/dev/tcp/${host}/${port}"
# Under TLS bash cannot speak HTTP: the listener accepting a connection is what can be checked.
[ -n "${DIRECTOR_TLS_CERT:-}" ] && exit 0
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 3 status <&3
case "$status" in
    "HTTP/1."?" 200 "*) exit 0 ;;
    *) echo "healthz answered: ${status}" >&2; exit 1 ;;
esac
