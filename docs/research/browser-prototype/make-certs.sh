#!/usr/bin/env bash
# Makes a throwaway test CA and a server certificate for 127.0.0.1 / localhost, in ./certs.
set -euo pipefail
d="${1:-$(dirname "$0")/certs}"
mkdir -p "$d" && cd "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=browser-proto test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout server.key -out server.csr 2>/dev/null
cat > server.ext <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
X
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile server.ext -out server.pem 2>/dev/null
cat server.pem ca.pem > server-chain.pem
# base64(sha256(SubjectPublicKeyInfo)) of the server key, for --ignore-certificate-errors-spki-list
openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64 > server.spki
echo "certs in $d; server SPKI sha256: $(cat server.spki)"
