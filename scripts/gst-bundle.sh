#!/usr/bin/env bash
# GStreamer for a machine without it (the GPU machine: Ubuntu 24.04, no glib, no registry):
# the plugins metapix-stream and the glass-to-glass client use, gst-launch-1.0, the plugin
# scanner, and every library they and BINARY need, copied from this machine's Debian
# packages (scripts/setup-system.sh installs them) into OUT, as OUT.tar.xz beside it.
# glibc, libstdc++ and libgcc_s stay out: the target's own (newer) ones serve, and libtorch
# needs the newer libstdc++. H.264 is decoded by openh264 (gst-plugins-bad), not libav,
# whose codec libraries alone are larger than everything else here.
#
#   scripts/gst-bundle.sh OUT [BINARY]
# There, with OUT unpacked:
#   export LD_LIBRARY_PATH=OUT/lib:$LD_LIBRARY_PATH GST_PLUGIN_SYSTEM_PATH=OUT/plugins \
#     GST_PLUGIN_SCANNER=OUT/bin/gst-plugin-scanner PATH=OUT/bin:$PATH
set -euo pipefail
OUT=${1:?usage: scripts/gst-bundle.sh OUT [BINARY]}
BINARY=${2:-target/release/metapix-stream}
ARCH=/usr/lib/x86_64-linux-gnu
PLUGINS=(coreelements app videoconvertscale videoconvert videoscale videorate videotestsrc x264 rtp
         rtpmanager rtsp udp tcp isomp4 playback typefindfunctions videoparsersbad openh264
         autodetect)
rm -rf "$OUT" && mkdir -p "$OUT/lib" "$OUT/plugins" "$OUT/bin"
for p in "${PLUGINS[@]}"; do
  f="$ARCH/gstreamer-1.0/libgst$p.so"
  [ -f "$f" ] && cp -L "$f" "$OUT/plugins/"
done
cp -L "$(command -v gst-launch-1.0)" "$OUT/bin/"
cp -L "$ARCH/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner" "$OUT/bin/"
# The libraries all of them load, but the system's C and C++ runtimes and libtorch's own.
skip='^(libc|libm|libdl|libpthread|librt|libutil|ld-linux-x86-64|libstdc\+\+|libgcc_s|libtorch.*|libc10.*|libgomp|libcudart|libcupti|linux-vdso)\.so'
for f in "$OUT"/plugins/*.so "$OUT"/bin/* "$BINARY"; do
  ldd "$f" | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ "$name" =~ $skip ]] || cp -Ln "$path" "$OUT/lib/$name"
done
tar -C "$(dirname "$OUT")" -cJf "$OUT.tar.xz" "$(basename "$OUT")"
echo "$OUT: $(ls "$OUT/plugins" | wc -l) plugins, $(ls "$OUT/lib" | wc -l) libraries, $(du -sh "$OUT" | cut -f1); $OUT.tar.xz $(du -h "$OUT.tar.xz" | cut -f1)"
