# Sourced by scripts/gpu/*.sh on the GPU machine: unpacks what the call carried (gpu/bin/*.xz,
# gpu/models, gpu/gst.tar.xz) into /tmp and points libtorch, ONNX Runtime, the pose models and,
# where carried, GStreamer at it. B: the binaries; R: $OUT; PY: the machine's Python with torch.
T=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$T/torch/lib:${LD_LIBRARY_PATH:-}
export ORT_DYLIB_PATH=$T/onnxruntime/capi/libonnxruntime.so.1.30.0
export METAPIX_MODELS=${METAPIX_MODELS:-/tmp/models} METAPIX_BIN=/tmp/b PYTHONUNBUFFERED=1
PY=/opt/torch/.venv/bin/python
mkdir -p /tmp/b /tmp/models /tmp/w
for f in gpu/bin/*.xz; do
  [ -f "$f" ] || continue
  n=/tmp/b/$(basename "$f" .xz)
  [ -x "$n" ] || { xz -dc "$f" >"$n"; chmod +x "$n"; }
done
# Where only the GStreamer build came (carry limits), it stands in for the plain one.
[ -x /tmp/b/metapix-stream ] || [ ! -x /tmp/b/metapix-stream-gst ] || ln -s metapix-stream-gst /tmp/b/metapix-stream
for f in gpu/models/*.xz; do
  n=/tmp/models/$(basename "$f" .xz)
  [ -f "$n" ] || xz -dc "$f" >"$n"
done
if [ -f gpu/gst.tar.xz ]; then
  [ -d /tmp/gst ] || tar -C /tmp -xJf gpu/gst.tar.xz
  export LD_LIBRARY_PATH=/tmp/gst/lib:$LD_LIBRARY_PATH GST_PLUGIN_SYSTEM_PATH=/tmp/gst/plugins \
    GST_PLUGIN_SCANNER=/tmp/gst/bin/gst-plugin-scanner GST_REGISTRY=/tmp/gst/registry.bin PATH=/tmp/gst/bin:$PATH
fi
B=/tmp/b
R=${OUT:-/tmp/out}
mkdir -p "$R"
# The log's tee is a child of the sourcing script until it exits: wait for your own jobs with `wait $(jobs -p)`,
# since a bare `wait` waits for the tee too and never returns.
exec > >(tee "$R/log.txt") 2>&1
echo "machine: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
start=$(date +%s)
t() { echo "=== $(($(date +%s) - start)) s: $*"; }
elapsed() { echo $(($(date +%s) - start)); }
# A Posewarp lite checkpoint personalized on a synthetic person with no steps, at /tmp/w/posewarp.safetensors
# (for speed: its weights do not change the time); gpu/posewarp.safetensors where the call carried one
# (made here by the same two commands) instead of the metapix binary.
posewarp_model() {
  [ -f gpu/posewarp.safetensors ] && { cp gpu/posewarp.safetensors /tmp/w/; return; }
  "$B/metapix" -q synth --out /tmp/w/t256 --prepared --identities 1 --seconds 2 --fps 15 --size 256x256 --seed 3
  "$B/metapix" personalize /tmp/w/t256/identity-000 --arch posewarp --steps 0 --device cuda \
    --out /tmp/w/posewarp.safetensors -q
}
