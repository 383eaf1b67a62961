#!/usr/bin/env bash
# Step 4 without nginx: oauth2-proxy serves TLS itself on 127.0.0.1:4443. Logs alice in and shows the
# /oauth2/auth answers with and without the cookie, /oauth2/userinfo and /oauth2/sign_out. Stops both at the end.
set -euo pipefail
cd /tmp/oidc-proto
scripts/start.sh direct
trap 'scripts/stop.sh' EXIT
C=(curl -sS --cacert tls/ca.crt)
python3 scripts/login.py 'https://127.0.0.1:4443/oauth2/start?rd=%2Fdashboard' alice@example.com alice-password
echo "--- GET /oauth2/auth with the cookie";    "${C[@]}" -b logs/cookies-alice.txt -o /dev/null -D - https://127.0.0.1:4443/oauth2/auth
echo "--- GET /oauth2/auth without a cookie";   "${C[@]}" -o /dev/null -D - https://127.0.0.1:4443/oauth2/auth
echo "--- GET /oauth2/userinfo";                "${C[@]}" -b logs/cookies-alice.txt https://127.0.0.1:4443/oauth2/userinfo; echo
echo "--- GET /oauth2/sign_out";                "${C[@]}" -b logs/cookies-alice.txt -c logs/cookies-alice-out.txt -o /dev/null -D - https://127.0.0.1:4443/oauth2/sign_out
echo "--- GET /oauth2/auth after sign_out: $("${C[@]}" -b logs/cookies-alice-out.txt -o /dev/null -w %{http_code} https://127.0.0.1:4443/oauth2/auth)"
