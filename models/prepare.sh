#!/usr/bin/env bash
# Fetch MediaPipe's BlazePose models (.tflite, from the mediapipe 0.10.21 wheel on PyPI),
# convert them to ONNX with our own converter (models/tflite2onnx.py), check them against the
# TFLite originals (models/validate.py), derive the landmark model the stream runs (only the
# outputs it reads: models/prune_outputs.py) and install them atomically into $CACHE/models.
#
# Idempotent: when $CACHE/models/.prepare.stamp says the installed models were made by these
# very scripts from the pinned wheel and their sha256 still match, it exits 0 at once.
# On failure: non-zero exit and a one-line message saying which step failed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

OUT="$CACHE/models"
STAMP="$OUT/.prepare.stamp"
# paths inside the wheel, under mediapipe/modules/, without .tflite
MODELS=(pose_detection/pose_detection pose_landmark/pose_landmark_full
        selfie_segmentation/selfie_segmentation)
# derived here: NAME=SOURCE:OUTPUTS, SOURCE pruned to OUTPUTS. The tracking landmark model
# skips the segmentation decoder the stream never reads (src/pose/landmark.rs).
DERIVED=(pose_landmark_full_tracking=pose_landmark_full:Identity,Identity_1,Identity_3)
# every installed model's base name
NAMES=()
for m in "${MODELS[@]}"; do NAMES+=("$(basename "$m")"); done
for d in "${DERIVED[@]}"; do NAMES+=("${d%%=*}"); done
STEP="starting"
WORK=""
finish() {
  local rc=$?
  [ -n "$WORK" ] && rm -rf "$WORK"
  [ $rc -eq 0 ] || echo "models/prepare.sh: FAILED while $STEP (exit $rc)" >&2
}
trap finish EXIT

# Everything that decides the output: our scripts, the pinned tools, the pinned wheel.
TOOLS=$(cat "$HERE"/{prepare.sh,common.sh,tflite2onnx.py,validate.py,prune_outputs.py,requirements.txt} \
        | sha256sum | cut -d' ' -f1)
HEADER="tools=$TOOLS
wheel=$MP_WHEEL_SHA256"

up_to_date() {
  [ -f "$STAMP" ] && [ "$(head -n 2 "$STAMP")" = "$HEADER" ] || return 1
  local b name
  for b in "${NAMES[@]}"; do
    name=$b.onnx
    [ -f "$OUT/$name" ] || return 1
    [ "$(grep "^$name=" "$STAMP" | cut -d= -f2)" = "$(sha256 "$OUT/$name")" ] || return 1
  done
}

STEP="checking $STAMP"
if up_to_date; then
  echo "models: up to date in $OUT (stamp matches; nothing to do)"
  exit 0
fi

STEP="setting up the Python venv"
ensure_venv "$HERE/requirements.txt" models

STEP="fetching the mediapipe $MP_VERSION wheel"
WHEEL=$(fetch_wheel)
echo "wheel: $WHEEL (sha256 ok)"

STEP="extracting the .tflite models"
mkdir -p "$OUT"
WORK=$(mktemp -d "$CACHE/.prepare.XXXXXX")  # same filesystem as $OUT: mv is atomic
"$PY" - "$WHEEL" "$WORK" "${MODELS[@]}" <<'EOF'
import sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        info = z.getinfo(f"mediapipe/modules/{name}.tflite")
        info.filename = name.split("/")[-1] + ".tflite"  # flatten into dest
        z.extract(info, dest)
        print(f"extracted mediapipe/modules/{name}.tflite ({info.file_size} bytes)")
EOF

STEP="converting to ONNX"
PAIRS=()
for m in "${MODELS[@]}"; do
  b=$(basename "$m")
  "$PY" "$HERE/tflite2onnx.py" "$WORK/$b.tflite" "$WORK/$b.onnx" | sed "s|$WORK/||g"
  PAIRS+=("$WORK/$b.tflite" "$WORK/$b.onnx")
done

STEP="validating ONNX against TFLite"
"$PY" "$HERE/validate.py" --json "$WORK/validation.json" "${PAIRS[@]}" \
  2> >(grep -v -e '^INFO: Created TensorFlow Lite' >&2)

STEP="deriving the models the stream runs"
for d in "${DERIVED[@]}"; do
  src=${d#*=}
  "$PY" "$HERE/prune_outputs.py" "$WORK/${src%%:*}.onnx" "$WORK/${d%%=*}.onnx" "${src#*:}" | sed "s|$WORK/||g"
done

STEP="installing into $OUT"
{
  echo "$HEADER"
  echo "mediapipe=$MP_VERSION $MP_WHEEL"
  for m in "${MODELS[@]}"; do
    b=$(basename "$m")
    echo "source.$b.tflite=$(sha256 "$WORK/$b.tflite")"
  done
} >"$WORK/stamp"
for b in "${NAMES[@]}"; do
  echo "$b.onnx=$(sha256 "$WORK/$b.onnx")" >>"$WORK/stamp"
  mv -f "$WORK/$b.onnx" "$OUT/$b.onnx"
  echo "installed $OUT/$b.onnx ($(stat -c %s "$OUT/$b.onnx") bytes)"
done
mv -f "$WORK/validation.json" "$OUT/validation.json"
mv -f "$WORK/stamp" "$STAMP"  # last: only complete installs get a stamp
echo "models: done ($OUT; validation figures in $OUT/validation.json)"
