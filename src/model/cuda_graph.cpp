// CUDA graphs for tch: a C ABI over libtorch's at::cuda::CUDAGraph, which tch does not bind.
//
// Built by build.rs into a shared library that the metapix binaries embed and load at run
// time (src/model/cuda_graph.rs), after libtorch_cuda: its libtorch symbols resolve against
// the libtorch_cuda and libc10_cuda already loaded, so nothing here links against CUDA and
// machines without it never load this.
//
// A capture runs on a side stream made current for the calling thread (the legacy default
// stream cannot be captured), in thread-local mode so that other threads' streams (other
// streams of `metapix serve`) go on while one thread captures. Every call returns 0 on
// success; on failure, non-zero and the reason in mp_graph_last_error().
//
// Side streams and threads' own streams are made here, one each, never shared: libtorch's
// pool hands out its 32 streams round robin, so from 17 streams of `serve` on (one own
// stream and one side stream each) one thread's eager work landed on another's capturing
// stream, and both failed.

#include <ATen/cuda/CUDAGraph.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <memory>
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

// A non-blocking stream of its own on `device`, destroyed with it once its work is done
// (libtorch's allocator keys cached blocks by stream handle, which a new stream may reuse).
class OwnStream {
 public:
  explicit OwnStream(c10::DeviceIndex device) : device_(device) {
    c10::cuda::CUDAGuard guard(device);
    C10_CUDA_CHECK(cudaStreamCreateWithFlags(&raw_, cudaStreamNonBlocking));
  }
  OwnStream(const OwnStream&) = delete;
  OwnStream& operator=(const OwnStream&) = delete;
  ~OwnStream() {
    // Errors are ignored: at process exit the context may already be gone.
    (void)cudaStreamSynchronize(raw_);
    (void)cudaStreamDestroy(raw_);
  }
  c10::cuda::CUDAStream stream() const { return c10::cuda::getStreamFromExternal(raw_, device_); }

 private:
  cudaStream_t raw_ = nullptr;
  c10::DeviceIndex device_;
};

// The calling thread's own stream (mp_use_own_stream), destroyed when the thread ends.
thread_local std::unique_ptr<OwnStream> thread_stream;

}  // namespace

struct MpGraph {
  at::cuda::CUDAGraph graph;
  OwnStream own;
  c10::cuda::CUDAStream side;
  std::optional<c10::cuda::CUDAStream> previous;

  explicit MpGraph(c10::DeviceIndex device) : own(device), side(own.stream()) {}
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

// Makes a stream of the calling thread's own current, once the legacy default stream's work
// so far is done (the weights it will read were uploaded there): its work then runs beside
// other threads' instead of queueing behind it on the legacy default stream. Not a
// device-wide synchronize: that waits on every stream, another thread's capturing one too,
// which is not permitted and invalidates that capture.
int mp_use_own_stream(int device) {
  return guarded([&] {
    auto index = static_cast<c10::DeviceIndex>(device);
    c10::cuda::CUDAGuard guard(index);
    c10::cuda::getDefaultCUDAStream(index).synchronize();
    if (!thread_stream) thread_stream = std::make_unique<OwnStream>(index);
    c10::cuda::setCurrentCUDAStream(thread_stream->stream());
  });
}

// Sets how host threads wait for the device (cudaDeviceSchedule*: 0 auto, 1 spin, 2 yield,
// 4 blocking sync) on `device`, before its context does work. With one context and fewer
// streams than cores, auto picks spinning: every stream of `serve` waiting for its copy
// then busies a core that pose estimation needs.
int mp_set_host_sync(int device, unsigned int flags) {
  return guarded([&] {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    C10_CUDA_CHECK(cudaSetDeviceFlags(flags));
  });
}

// A tensor of n bytes in pinned host memory, from libtorch's pinned allocator, for tch to own
// (tch's Tensor.pin_memory passes a device, which libtorch warns is deprecated).
int mp_pinned_bytes(int64_t n, at::Tensor** out) {
  return guarded([&] {
    *out = new at::Tensor(at::empty({n}, at::TensorOptions().dtype(at::kByte).pinned_memory(true)));
  });
}

// Waits until the calling thread's current stream on `device` has done its work: before the
// host rewrites memory a copy on that stream may still read.
int mp_sync_current_stream(int device) {
  return guarded([&] {
    c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).synchronize();
  });
}

}  // extern "C"
