#!/usr/bin/env bash
# Packs what the GPU machine runs into gpu/ (ignored by git; add `gpu/` to .git/info/exclude):
# it has no cargo, no GStreamer and no network (docs/environment.md). Builds here first:
#   gpu/bin/metapix.xz, metapix-stream.xz    no-GStreamer builds (target/nogst)
#   gpu/bin/libtests.xz                     the lib test binary of that build (CUDA tests)
#   gpu/bin/bench-generator.xz, bench-posewarp.xz   the criterion benches of that build
#   gpu/bin/metapix-stream-gst.xz           the GStreamer build, for RTSP (with gpu/gst.tar.xz)
#   gpu/gst.tar.xz                          scripts/gst-bundle.sh's GStreamer
#   gpu/models/*.onnx.xz                    the pose models
#   gpu/data/tfjs_pose_squats               a prepared real target (for eval)
#   gpu/posewarp.safetensors                env.sh's posewarp_model, for calls without the metapix binary
# A call carries only what its script names in its header (64 MiB with the tracked tree).
#   scripts/gpu/pack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${METAPIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metapix}"
mkdir -p gpu/bin gpu/models gpu/data
cargo build --release --locked --bins
cargo build --release --locked --no-default-features --target-dir target/nogst --bins --benches --lib --tests
N=target/nogst/release
newest() { find "$N/deps" -maxdepth 1 -type f -executable -name "$1-*" -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2; }
libtests=$(for f in $(newest metapix); do "$f" --list 2>/dev/null | grep -q 'cuda_graph::tests' && { echo "$f"; break; }; done)
pack() { strip -o "gpu/$2.tmp" "$1" && xz -9e -c "gpu/$2.tmp" >"gpu/bin/$2.xz" && rm "gpu/$2.tmp"; }
pack "$N/metapix" metapix
pack "$N/metapix-stream" metapix-stream
pack "$libtests" libtests
pack "$(newest generator | head -1)" bench-generator
pack "$(newest posewarp | head -1)" bench-posewarp
pack target/release/metapix-stream metapix-stream-gst
scripts/gst-bundle.sh /tmp/metapix-gst/gst target/release/metapix-stream >/dev/null
cp /tmp/metapix-gst/gst.tar.xz gpu/gst.tar.xz
for m in pose_detection pose_landmark_full pose_landmark_full_tracking; do
  [ -f "gpu/models/$m.onnx.xz" ] || xz -9 -T2 -c "$CACHE/models/$m.onnx" >"gpu/models/$m.onnx.xz"
done
[ -d gpu/data/tfjs_pose_squats ] || target/release/metapix prepare -q \
  ../shared/data/real/targets/tfjs_pose_squats.mp4 --out gpu/data/tfjs_pose_squats
# scripts/gpu/env.sh's posewarp_model, made here: calls that cannot carry the metapix binary carry this.
if [ ! -f gpu/posewarp.safetensors ]; then
  target/release/metapix -q synth --out /tmp/metapix-gpu-t256 --prepared --identities 1 --seconds 2 --fps 15 \
    --size 256x256 --seed 3
  target/release/metapix personalize /tmp/metapix-gpu-t256/identity-000 --arch posewarp --steps 0 \
    --device cpu --out gpu/posewarp.safetensors -q
fi
du -sh gpu/bin/* gpu/gst.tar.xz gpu/models gpu/data gpu/posewarp.safetensors
