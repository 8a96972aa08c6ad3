#!/usr/bin/env bash
# Fetch hls.js into web/static/vendor/hls.min.js for the public livestream page: Chromium-based
# browsers cannot play HLS natively, so public.html plays it through hls.js (Media Source Extensions).
# The file comes from the npm registry (`npm pack`, so no node_modules and no install scripts run) and
# is not committed. Safe to run again: an existing copy is kept unless --force is given.
#
#   scripts/fetch_hlsjs.sh [--force]        # HLSJS_VERSION=1.5.20 to pin another version (default: 1)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${HLSJS_VERSION:-1}
DEST=web/static/vendor/hls.min.js

if [ -s "$DEST" ] && [ "${1:-}" != "--force" ]; then
  echo "hls.js already present at $DEST (use --force to fetch again)"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "error: npm not found; install Node.js with npm (e.g. apt-get install -y npm) and run $0 again" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$VERSION" >/dev/null)
tarballs=("$tmp"/hls.js-*.tgz)
if [ ! -f "${tarballs[0]}" ]; then
  echo "error: npm pack hls.js@$VERSION produced no package" >&2
  exit 1
fi
tar -xzf "${tarballs[0]}" -C "$tmp" package/dist/hls.min.js package/package.json
if [ ! -s "$tmp/package/dist/hls.min.js" ]; then
  echo "error: hls.js@$VERSION has no dist/hls.min.js" >&2
  exit 1
fi
got=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json" | head -n 1)

mkdir -p "$(dirname "$DEST")"
# Through a temporary name so a server never serves a half-written file.
cp "$tmp/package/dist/hls.min.js" "$DEST.tmp"
chmod 0644 "$DEST.tmp"
mv -f "$DEST.tmp" "$DEST"
echo "hls.js $got -> $DEST"
