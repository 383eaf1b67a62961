#!/usr/bin/env bash
# Starts Dex, waits for its discovery document, then starts oauth2-proxy in MODE (direct|nginx).
# PIDs go to logs/*.pid; scripts/stop.sh ends them.
set -euo pipefail
base=/tmp/oidc-proto
mode=${1:?direct or nginx}
cd "$base"
if ! [ -s logs/dex.pid ] || ! kill -0 "$(cat logs/dex.pid)" 2>/dev/null; then
	nohup bin/dex serve config/dex.yaml >logs/dex.log 2>&1 &
	echo $! >logs/dex.pid
fi
# oauth2-proxy runs OIDC discovery once at start and exits if the issuer is not answering yet.
for _ in $(seq 50); do
	curl -fs --cacert tls/ca.crt -o /dev/null https://127.0.0.1:5556/dex/.well-known/openid-configuration && break
	sleep 0.2
done
mapfile -t args < <(scripts/oauth2-proxy-args.sh "$mode")
nohup bin/oauth2-proxy "${args[@]}" >"logs/oauth2-proxy-$mode.log" 2>&1 &
echo $! >logs/oauth2-proxy.pid
if [ "$mode" = direct ]; then ping=https://127.0.0.1:4443/ping; else ping=http://127.0.0.1:4180/ping; fi
for _ in $(seq 50); do
	curl -fs --cacert tls/ca.crt -o /dev/null "$ping" && break
	sleep 0.2
done
echo "dex pid $(cat logs/dex.pid), oauth2-proxy ($mode) pid $(cat logs/oauth2-proxy.pid)"
