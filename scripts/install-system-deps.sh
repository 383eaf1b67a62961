#!/usr/bin/env bash
# Installs what the real-component tests run, from Debian packages, when it is missing:
# a Java 17 JDK (Flink, keytool, single-file Java checks), nginx (the proxy), wrk (the benchmark),
# openssl, curl and jq (the seed tutorial's REST checks), setpriv (to run nginx as an unprivileged user), and
# chromium with certutil (the browser tests: headless Chromium trusts the test CA through an NSS db).
set -euo pipefail

missing=()
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v javac >/dev/null || [ "$(java_major)" -lt 17 ] 2>/dev/null; then missing+=(openjdk-17-jdk-headless); fi
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v chromium >/dev/null || missing+=(chromium)
command -v certutil >/dev/null || missing+=(libnss3-tools)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system dependencies present: $(java -version 2>&1 | head -1)"
  exit 0
fi
echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: install ${missing[*]} with your package manager, then rerun make test" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
