#!/usr/bin/env bash
# Prints the oauth2-proxy command line (one flag a line) for MODE=direct (oauth2-proxy itself serves TLS on
# 127.0.0.1:4443, step 4) or MODE=nginx (plain HTTP on 127.0.0.1:4180 behind nginx's TLS on 127.0.0.1:8443).
set -euo pipefail
base=/tmp/oidc-proto
mode=${1:?direct or nginx}
case $mode in
	direct) public=https://127.0.0.1:4443 ;;
	nginx) public=https://127.0.0.1:8443 ;;
	*) echo "bad mode" >&2; exit 2 ;;
esac
args=(
	--provider=oidc
	--provider-display-name=Dex
	--oidc-issuer-url=https://127.0.0.1:5556/dex
	--provider-ca-file=$base/tls/ca.crt
	--client-id=oauth2-proxy
	--client-secret-file=$base/config/client-secret
	--code-challenge-method=S256
	--scope="openid email profile groups"
	--oidc-groups-claim=groups
	--email-domain=example.com
	--allowed-group=flink-viewers
	--allowed-group=flink-operators
	--allowed-group=flink-admins
	--redirect-url=$public/oauth2/callback
	--upstream=static://202
	--reverse-proxy
	--trusted-proxy-ip=127.0.0.1
	--set-xauthrequest
	--skip-provider-button
	--approval-prompt=auto   # oauth2-proxy defaults to approval_prompt=force, which makes Dex show its consent page despite skipApprovalScreen
	--cookie-secret-file=$base/config/cookie-secret
	--cookie-secure=true
	--cookie-httponly=true
	--cookie-samesite=lax
	--cookie-expire=8h
	--cookie-refresh=0
)
if [ "$mode" = direct ]; then
	# With a TLS certificate oauth2-proxy (legacy flags) runs ONLY the HTTPS listener; --http-address is ignored.
	args+=(--https-address=127.0.0.1:4443 --tls-cert-file=$base/tls/server.crt --tls-key-file=$base/tls/server.key)
else
	args+=(--http-address=127.0.0.1:4180)
fi
printf '%s\n' "${args[@]}"
