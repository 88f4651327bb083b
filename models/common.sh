# Shared by models/prepare.sh and scripts/reference.sh (sourced, not run).
# Cache root as the Rust side computes it (src/assets.rs cache_dir): $METAPIX_CACHE, else
# $XDG_CACHE_HOME/metapix, else ~/.cache/metapix. Layout (fixed; the binaries rely on it):
#   $CACHE/venv        Python venv for these tools
#   $CACHE/downloads   cached downloads (the mediapipe wheel)
#   $CACHE/models      the converted .onnx models
#   $CACHE/reference   MediaPipe reference landmarks (scripts/reference.sh)
CACHE="${METAPIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metapix}"
VENV="$CACHE/venv"
PY="$VENV/bin/python"

# The weights come from this exact wheel (newer mediapipe wheels ship no .tflite models).
MP_VERSION=0.10.21
MP_WHEEL="mediapipe-$MP_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl"
MP_WHEEL_SHA256=05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

sha256() { sha256sum "$@" | cut -d' ' -f1; }

# log FILE CMD...: run CMD with its output in FILE; on failure show the end of FILE.
log() {
  local file=$1; shift
  if ! "$@" >"$file" 2>&1; then
    tail -n 20 "$file" >&2
    return 1
  fi
}

# ensure_venv REQUIREMENTS NAME: create the venv if missing and pip-install REQUIREMENTS
# unless this exact file was installed before (stamp $VENV/.metapix-NAME.sha256).
ensure_venv() {
  local req=$1 name=$2 stamp="$VENV/.metapix-$2.sha256" want
  want=$(sha256 "$req")
  if [ ! -x "$PY" ]; then
    echo "creating venv $VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing $(basename "$req") into $VENV"
    log "$CACHE/pip-$name.log" "$PY" -m pip install -r "$req"
    echo "$want" >"$stamp"
  fi
}

# fetch_wheel: make sure $CACHE/downloads/$MP_WHEEL is there with the pinned sha256;
# prints its path. pip download fetches it for the target platform whatever the host.
fetch_wheel() {
  local dir="$CACHE/downloads" tmp
  mkdir -p "$dir"
  if [ -f "$dir/$MP_WHEEL" ] && [ "$(sha256 "$dir/$MP_WHEEL")" = "$MP_WHEEL_SHA256" ]; then
    echo "$dir/$MP_WHEEL"
    return
  fi
  tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
  log "$CACHE/pip-download.log" "$PY" -m pip download --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
    -d "$tmp" "mediapipe==$MP_VERSION" || { rm -rf "$tmp"; return 1; }
  if [ "$(sha256 "$tmp/$MP_WHEEL")" != "$MP_WHEEL_SHA256" ]; then
    rm -rf "$tmp"
    echo "sha256 of $MP_WHEEL does not match the pinned $MP_WHEEL_SHA256" >&2
    return 1
  fi
  mv "$tmp/$MP_WHEEL" "$dir/$MP_WHEEL"
  rm -rf "$tmp"
  echo "$dir/$MP_WHEEL"
}
