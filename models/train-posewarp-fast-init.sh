#!/usr/bin/env bash
# Learns the shipped fast Posewarp init (models/posewarp-fast-init.safetensors, `--init
# posewarp-fast`, issue 12): the shipped Posewarp init v2 (models/train-posewarp-init.sh) in
# the lite-fast shape (the foreground U-Net at half size, then an 8-channel refinement at
# full size), trained further on pairs of frames of the same 24 synthetic people (our
# renderer; no footage), L1 alone, in three runs: 1000 steps at half size without the
# refinement (v2's file with `foreground_scale` 2 written into its metadata: the weights fit
# as they are), 1000 with it (`--preset lite-fast` reshapes the init; the refinement's head
# starts at zero), then 2000 more (11, 10 and 21 minutes on two CPU cores).
#
#   models/train-posewarp-fast-init.sh [BIN_DIR] [OUT]
# BIN_DIR holds the metapix binary (default target/release). Run inside the git checkout.
set -euo pipefail
BIN=${1:-target/release}
OUT=${2:-models/posewarp-fast-init.safetensors}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$BIN/metapix"
git show f42833e:models/posewarp-init-lite.safetensors >"$WORK/v2.safetensors"
"$M" -q synth --out "$WORK/train" --prepared --identities 24 --seconds 6 --fps 15 --size 256x256 --seed 1
# Each step: 4 frames, each rendered from another frame of the same person.
pretrain() {
  "$M" -q pretrain "$WORK/train" --arch posewarp --frames-per-identity 20 --batch 4 \
    --lr 5e-4 --device cpu --checkpoint-every 100 "$@"
}
# v2 at half size: the same tensors, one field of the shape in the header changed.
python3 - "$WORK/v2.safetensors" "$WORK/v2-half.safetensors" <<'PY'
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    header = json.loads(f.read(struct.unpack('<Q', f.read(8))[0]))
    data = f.read()
meta = json.loads(header['__metadata__']['metapix'])
meta['generator']['foreground_scale'] = 2
header['__metadata__']['metapix'] = json.dumps(meta, separators=(',', ':'))
text = json.dumps(header, separators=(',', ':')).encode()
text += b' ' * (-len(text) % 8)
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + data)
PY
pretrain --init "$WORK/v2-half.safetensors" --steps 1000 --out "$WORK/half.safetensors"
pretrain --init "$WORK/half.safetensors" --preset lite-fast --steps 1000 --out "$WORK/refined.safetensors"
pretrain --init "$WORK/refined.safetensors" --steps 2000 --out "$OUT"
