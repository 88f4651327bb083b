#!/usr/bin/env bash
# ONNX Runtime's shared library, taken from its PyPI wheel (the only registry we can reach),
# into the cache where the binaries look for it. Idempotent: does nothing when present.
set -euo pipefail
VERSION=1.30.0
CACHE="${METAPIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metapix}"
DEST="$CACHE/onnxruntime/libonnxruntime.so.$VERSION"
[ -f "$DEST" ] && { echo "onnxruntime $VERSION: present ($DEST)"; exit 0; }
mkdir -p "$CACHE/downloads" "$CACHE/onnxruntime"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$CACHE/downloads" "onnxruntime==$VERSION"
WHEEL=$(ls "$CACHE"/downloads/onnxruntime-"$VERSION"-*.whl | head -n1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 -m zipfile -e "$WHEEL" "$TMP"
cp "$TMP/onnxruntime/capi/libonnxruntime.so.$VERSION" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
echo "onnxruntime $VERSION: installed $DEST"
