// CUDA graphs for tch: a C ABI over libtorch's at::cuda::CUDAGraph, which tch does not bind.
//
// Built by build.rs into a shared library that the metapix binaries embed and load at run
// time (src/model/cuda_graph.rs), after libtorch_cuda: its libtorch symbols resolve against
// the libtorch_cuda and libc10_cuda already loaded, so nothing here links against CUDA and
// machines without it never load this.
//
// A capture runs on a side stream from libtorch's pool made current for the calling thread
// (the legacy default stream cannot be captured), in thread-local mode so that other
// threads' streams (other streams of `metapix serve`) go on while one thread captures. Every
// call returns 0 on success; on failure, non-zero and the reason in mp_graph_last_error().

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <optional>
#include <string>

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return 1;
}

}  // namespace

struct MpGraph {
  at::cuda::CUDAGraph graph;
  c10::cuda::CUDAStream side;
  std::optional<c10::cuda::CUDAStream> previous;

  explicit MpGraph(c10::DeviceIndex device) : side(c10::cuda::getStreamFromPool(false, device)) {}
};

extern "C" {

const char* mp_graph_last_error() { return last_error.c_str(); }

int mp_graph_new(int device, MpGraph** out) {
  return guarded([&] { *out = new MpGraph(static_cast<c10::DeviceIndex>(device)); });
}

void mp_graph_free(MpGraph* g) { delete g; }

// Makes the side stream current for this thread: warm-up runs and the capture go there.
int mp_graph_enter(MpGraph* g) {
  return guarded([&] {
    g->previous = c10::cuda::getCurrentCUDAStream(g->side.device_index());
    g->side.synchronize();
    c10::cuda::setCurrentCUDAStream(g->side);
  });
}

int mp_graph_capture_begin(MpGraph* g) {
  return guarded([&] { g->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal); });
}

int mp_graph_capture_end(MpGraph* g) {
  return guarded([&] { g->graph.capture_end(); });
}

// Waits for the side stream and makes the stream current before mp_graph_enter current again.
int mp_graph_leave(MpGraph* g) {
  return guarded([&] {
    g->side.synchronize();
    if (g->previous) {
      c10::cuda::setCurrentCUDAStream(*g->previous);
      g->previous.reset();
    }
  });
}

// Launches the captured work on the calling thread's current stream.
int mp_graph_replay(MpGraph* g) {
  return guarded([&] { g->graph.replay(); });
}

// Makes a stream from libtorch's pool current for the calling thread, once the device's
// work so far is done (the weights it will read were written on another stream): its work
// then runs beside other threads' instead of queueing behind it on the legacy default stream.
int mp_use_own_stream(int device) {
  return guarded([&] {
    auto index = static_cast<c10::DeviceIndex>(device);
    c10::cuda::CUDAGuard guard(index);
    c10::cuda::device_synchronize();
    c10::cuda::setCurrentCUDAStream(c10::cuda::getStreamFromPool(false, index));
  });
}

}  // extern "C"
