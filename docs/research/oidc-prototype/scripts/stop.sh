#!/usr/bin/env bash
# Ends the processes scripts/start.sh and nginx started, by their recorded PIDs.
cd /tmp/oidc-proto
for f in logs/oauth2-proxy.pid logs/dex.pid nginx/nginx.pid; do
	[ -s "$f" ] || continue
	pid=$(cat "$f")
	if [ "$f" = nginx/nginx.pid ]; then sig=QUIT; else sig=TERM; fi
	kill -s "$sig" "$pid" 2>/dev/null && echo "stopped $f ($pid)"
	[ "$f" = nginx/nginx.pid ] || rm -f "$f"
done
true
