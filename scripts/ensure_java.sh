#!/usr/bin/env bash
# Spark 4 needs Java 17+. Install a headless JDK when we can (root with apt), else say how.
set -euo pipefail
major() { java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}'; }
if command -v java >/dev/null 2>&1 && [ "$(major)" -ge 17 ] 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Java 17+ not found: installing openjdk-17-jre-headless with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
  exit 0
fi
cat >&2 <<'MSG'
Java 17 or newer is required by Spark 4 and was not found on PATH.
Install it, then run make again:
  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless
  macOS:         brew install openjdk@17
  or set JAVA_HOME and put $JAVA_HOME/bin on PATH.
MSG
exit 1
