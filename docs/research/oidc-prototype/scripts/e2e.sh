#!/usr/bin/env bash
# End to end on 127.0.0.1: Dex (TLS :5556) -> oauth2-proxy (:4180, auth_request mode) <- nginx (TLS :8443).
# Starts all three, logs in as each user, checks headers, group gating, sign-out and log hygiene, stops all.
set -uo pipefail
base=/tmp/oidc-proto
cd "$base"
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
C=(curl -sS --cacert tls/ca.crt)

scripts/start.sh nginx
nginx -p "$base/nginx" -c nginx.conf
trap 'scripts/stop.sh' EXIT

check "anonymous GET / -> 302 to Dex" \
	'[[ $("${C[@]}" -o /dev/null -w "%{http_code} %{redirect_url}" https://127.0.0.1:8443/) == "302 https://127.0.0.1:5556/dex/auth?"* ]]'
check "anonymous /oauth2/auth -> 401" '[ "$(curl -sS -o /dev/null -w %{http_code} http://127.0.0.1:4180/oauth2/auth)" = 401 ]'
declare -A groups=([alice]=flink-viewers [bob]=flink-viewers,flink-operators [carol]=flink-admins)
for u in alice bob carol; do
	out=$(python3 scripts/login.py "https://127.0.0.1:8443/jobs?a=1&b=2" "$u@example.com" "$u-password")
	check "$u logs in, lands on the app with user and groups" \
		'grep -q "final: 200 .app: user=$u email=$u@example.com groups=${groups[$u]} uri=/jobs?a=1&b=2" <<<"$out"'
	check "$u cookie Secure HttpOnly SameSite=Lax" \
		'grep -q "session cookie: _oauth2_proxy domain=127.0.0.1 path=/ secure=True httponly=True samesite=Lax" <<<"$out"'
	h=$(curl -sS -b "logs/cookies-$u.txt" -o /dev/null -D - http://127.0.0.1:4180/oauth2/auth | tr -d '\r')
	check "$u /oauth2/auth 202 + X-Auth-Request-{User,Email,Preferred-Username,Groups}" \
		'grep -q "^HTTP/1.1 202" <<<"$h" && grep -q "^X-Auth-Request-Email: $u@example.com" <<<"$h" &&
		 grep -q "^X-Auth-Request-Preferred-Username: $u$" <<<"$h" && grep -q "^X-Auth-Request-Groups: ${groups[$u]}$" <<<"$h" &&
		 grep -q "^X-Auth-Request-User: " <<<"$h"'
	want=403; [ "$u" = carol ] && want=200
	check "$u /admin/ (flink-admins only) -> $want" \
		'[ "$("${C[@]}" -b "logs/cookies-$u.txt" -o /dev/null -w %{http_code} https://127.0.0.1:8443/admin/)" = $want ]'
	check "$u cannot spoof X-Groups" \
		'"${C[@]}" -b "logs/cookies-$u.txt" -H "X-Groups: flink-admins" https://127.0.0.1:8443/ | grep -q "groups=${groups[$u]} "'
done
check "mallory (group marketing) is refused with 403 at the callback" \
	'python3 scripts/login.py https://127.0.0.1:8443/ mallory@example.com mallory-password --expect-denied >/dev/null'
check "wrong password stays on Dex (401), no session" \
	'out=$(python3 scripts/login.py https://127.0.0.1:8443/ alice@example.com wrong); grep -q "^final: 401" <<<"$out"'
cp logs/cookies-bob.txt logs/cookies-bob-old.txt
so=$("${C[@]}" -b logs/cookies-bob.txt -c logs/cookies-bob.txt -o /dev/null -D - https://127.0.0.1:8443/oauth2/sign_out | tr -d '\r')
check "sign_out clears the cookie and redirects to /" \
	'grep -q "^Set-Cookie: _oauth2_proxy=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax" <<<"$so" && grep -q "^Location: /$" <<<"$so"'
check "after sign_out: 302 to Dex again" '[ "$("${C[@]}" -b logs/cookies-bob.txt -o /dev/null -w %{http_code} https://127.0.0.1:8443/)" = 302 ]'
check "(known limit) the pre-sign-out cookie still works: cookie sessions are stateless" \
	'[ "$("${C[@]}" -b logs/cookies-bob-old.txt -o /dev/null -w %{http_code} https://127.0.0.1:8443/)" = 200 ]'
logs="logs/dex.log logs/oauth2-proxy-nginx.log nginx/access.log nginx/error.log"
leak=0
for j in logs/cookies-alice.txt logs/cookies-bob-old.txt logs/cookies-carol.txt; do
	v=$(awk '$6=="_oauth2_proxy"{print $7}' "$j")
	[ -n "$v" ] && cat $logs | grep -q -F "${v:0:32}" && leak=1
done
check "no session cookie value in any log" '[ $leak = 0 ]'
check "no JWT (eyJ) in any log" '! cat $logs | grep -q eyJ'
check "no client secret / password in any log" \
	'! cat $logs | grep -q -F "$(cat config/client-secret)" && ! cat $logs | grep -q -- "-password"'
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
