#!/usr/bin/env bash
# Reference landmarks from the real MediaPipe (mp.solutions.pose 0.10.21) on the shared
# footage, into $CACHE/reference/<input stem>.json (see scripts/mediapipe_reference.py).
#
# Installs into the tools venv ($CACHE/venv, shared with models/prepare.sh): the pins in
# scripts/reference-requirements.txt, then the mediapipe wheel with --no-deps (its declared
# deps drag in jax, sentencepiece, sounddevice and opencv-contrib, which pose does not need).
# Idempotent: installs are skipped when stamped, inputs whose JSON exists are skipped.
# Arguments are passed on to mediapipe_reference.py (--data DIR, --out DIR, --force).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../models/common.sh"
STEP="starting"
trap 'rc=$?; [ $rc -eq 0 ] || echo "scripts/reference.sh: FAILED while $STEP (exit $rc)" >&2' EXIT

STEP="installing the reference requirements"
ensure_venv "$HERE/reference-requirements.txt" reference

STEP="installing mediapipe $MP_VERSION"
if [ "$(cat "$VENV/.metapix-mediapipe.sha256" 2>/dev/null)" != "$MP_WHEEL_SHA256" ]; then
  WHEEL=$(fetch_wheel)
  echo "installing $MP_WHEEL (--no-deps) into $VENV"
  log "$CACHE/pip-mediapipe.log" "$PY" -m pip install --no-deps --force-reinstall "$WHEEL"
  echo "$MP_WHEEL_SHA256" >"$VENV/.metapix-mediapipe.sha256"
fi

STEP="running mp.solutions.pose"
# MediaPipe's C++ logging ignores GLOG_minloglevel here; drop its known harmless lines.
"$PY" "$HERE/mediapipe_reference.py" "$@" 2> >(grep -v -e 'inference_feedback_manager' \
  -e '^INFO: Created TensorFlow Lite' -e 'before absl::InitializeLog' \
  -e 'Using NORM_RECT without IMAGE_DIMENSIONS' >&2)
