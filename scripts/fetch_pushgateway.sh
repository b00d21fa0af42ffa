#!/usr/bin/env bash
# The Prometheus Pushgateway that tests/monitoring/test_prometheus.py pushes to: Debian's prometheus-pushgateway
# package unpacked into .tools/pushgateway (git-ignored). Nothing is installed system-wide and no service starts.
# A no-op once there. When it cannot be had, one line says so and the script exits 0: that test is then skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=.tools/pushgateway
[ -x "$TARGET/usr/bin/prometheus-pushgateway" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "pushgateway: no apt-get here; the Pushgateway test will be skipped (put prometheus-pushgateway on PATH)"
  exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"  # apt downloads as its _apt user
download() { (cd "$scratch" && apt-get download -qq prometheus-pushgateway >/dev/null 2>&1); }
if ! download && { [ "$(id -u)" != 0 ] || ! apt-get update -qq >/dev/null 2>&1 || ! download; }; then
  echo "pushgateway: apt-get could not download prometheus-pushgateway; the Pushgateway test will be skipped"
  exit 0
fi
mkdir -p "$(dirname "$TARGET")" && rm -rf "$TARGET.partial"
dpkg-deb -x "$scratch"/prometheus-pushgateway_*.deb "$TARGET.partial"
rm -rf "$TARGET" && mv "$TARGET.partial" "$TARGET"
echo "pushgateway: $("$TARGET/usr/bin/prometheus-pushgateway" --version 2>&1 | head -1)"
