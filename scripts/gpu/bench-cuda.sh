#!/usr/bin/env bash
# On the GPU machine: the CUDA tests, batch-1 generation with and without CUDA graphs against
# PyTorch (eager and graph replay), and metapix-stream's generate stage with graphs on and off.
# Carry: gpu/bin/{libtests,bench-generator,bench-posewarp,metapix-stream}.xz, gpu/models.
#   bash scripts/gpu/bench-cuda.sh        (docs/BENCHMARKS.md "CUDA graphs")
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/env.sh
t tests
for name in generate::tests::generates_frames_of_the_checkpoint_resolution_on_every_device_and_kind \
  model::cuda_graph::tests::a_replayed_graph_gives_the_eager_forward_for_each_new_input; do
  "$B/libtests" --exact "$name" --nocapture
done
t stream
for g in on off; do
  METAPIX_CUDA_GRAPHS=$g timeout --foreground -s INT 8 "$B/metapix-stream" testsrc null --size 256 --view gen --device cuda \
    --stats "/tmp/w/avatar-$g.json" -q
  python3 -c "import json, sys; s = json.load(open(sys.argv[1])); print('graphs', sys.argv[2], 'fps', s['fps'], \
'generate', s['stages']['generate'], 'end_to_end', s['end_to_end'])" "/tmp/w/avatar-$g.json" "$g"
done
t benches
"$B/bench-generator" --bench cuda --warm-up-time 1 --measurement-time 2 --noplot 2>&1 | grep -E "^generator|time:"
"$B/bench-posewarp" --bench cuda --warm-up-time 1 --measurement-time 2 --noplot 2>&1 | grep -E "^posewarp|time:"
t pytorch
"$PY" scripts/bench-generator-pytorch.py
"$PY" scripts/bench-posewarp-pytorch.py
t done
