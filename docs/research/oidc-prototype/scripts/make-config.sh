#!/usr/bin/env bash
# Writes the test CA, the 127.0.0.1 server certificate, the secrets and the Dex config under /tmp/oidc-proto.
set -euo pipefail
base=/tmp/oidc-proto
mkdir -p "$base/tls" "$base/config"
cd "$base/tls"
# Test CA and one server certificate for 127.0.0.1 / localhost, used by Dex, oauth2-proxy (direct mode) and nginx.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-subj "/CN=oidc-proto test CA" -keyout ca.key -out ca.crt \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
	-keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out server.crt \
	-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
chmod 600 ca.key server.key

cd "$base/config"
# oauth2-proxy's client secret at Dex and its cookie secret (32 random bytes, URL-safe base64 -> 32-byte AES key).
# Both WITHOUT a trailing newline: oauth2-proxy uses --client-secret-file and --cookie-secret-file verbatim
# (a newline makes the client secret wrong and the cookie secret 45 raw bytes, which it refuses).
printf '%s' "$(openssl rand -hex 24)" > client-secret
printf '%s' "$(openssl rand -base64 32 | tr '+/' '-_')" > cookie-secret
chmod 600 client-secret cookie-secret

hash() { printf '%s\n' "$1" | "$base/bin/bcrypt-hash"; }
cat > dex.yaml <<YAML
issuer: https://127.0.0.1:5556/dex
storage:
  type: memory
web:
  https: 127.0.0.1:5556
  tlsCert: $base/tls/server.crt
  tlsKey: $base/tls/server.key
logger:
  level: info
  format: text
oauth2:
  responseTypes: [code]
  skipApprovalScreen: true
expiry:
  idTokens: 1h
staticClients:
  - id: oauth2-proxy
    name: oauth2-proxy
    secret: $(cat client-secret)
    redirectURIs:
      - https://127.0.0.1:4443/oauth2/callback   # oauth2-proxy serving TLS itself (step 4)
      - https://127.0.0.1:8443/oauth2/callback   # behind nginx (step 5)
enablePasswordDB: true
staticPasswords:
  - email: alice@example.com
    username: alice
    preferredUsername: alice   # -> preferred_username claim -> X-Auth-Request-Preferred-Username
    userID: 6f1c3c4e-0000-4000-8000-000000000001
    hash: "$(hash alice-password)"
    groups: [flink-viewers]
  - email: bob@example.com
    username: bob
    preferredUsername: bob   # -> preferred_username claim -> X-Auth-Request-Preferred-Username
    userID: 6f1c3c4e-0000-4000-8000-000000000002
    hash: "$(hash bob-password)"
    groups: [flink-viewers, flink-operators]
  - email: carol@example.com
    username: carol
    preferredUsername: carol   # -> preferred_username claim -> X-Auth-Request-Preferred-Username
    userID: 6f1c3c4e-0000-4000-8000-000000000003
    hash: "$(hash carol-password)"
    groups: [flink-admins]
  - email: mallory@example.com
    username: mallory
    preferredUsername: mallory   # -> preferred_username claim -> X-Auth-Request-Preferred-Username
    userID: 6f1c3c4e-0000-4000-8000-000000000004
    hash: "$(hash mallory-password)"
    groups: [marketing]
YAML
echo "config written to $base/config, TLS material to $base/tls"
