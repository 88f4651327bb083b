//! CUDA graphs for batch-1 generation. At batch 1 a generator's forward on a GPU is bound by
//! kernel launches (lite at 256: about 1 ms in tch for what a PyTorch graph replay does in
//! 0.4): a graph captures the forward's launches once and replays them as one.
//!
//! tch binds no graph API, so a small C++ shim over libtorch's `at::cuda::CUDAGraph`
//! (`cuda_graph.cpp`, compiled by build.rs) is embedded in the binary and loaded from memory
//! the first time a graph is asked for, after libtorch's CUDA libraries. Where it cannot load
//! (no CUDA, or a build without the CUDA headers) capture fails with a [`GraphError`] and the
//! caller runs eagerly. `METAPIX_CUDA_GRAPHS=off` turns graphs off, for comparisons.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::{Mutex, MutexGuard, OnceLock};

use libloading::os::unix::{Library, Symbol, RTLD_GLOBAL, RTLD_NOW};
use tch::{Device, Tensor};

use super::guard;

/// The shim, as build.rs left it: empty when the CUDA headers were missing.
static SHIM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libmetapix_cuda_graph.so"));

/// Eager runs on the capture stream before capturing: the first run of a convolution picks
/// its algorithm and allocates workspaces, which a capture may not do.
const WARMUP_RUNS: usize = 2;

/// Held from a capture's begin to its end, and while a graph is freed. libtorch keeps one
/// process-wide state for the CUDA random generator: every capture registers with it and
/// marks it capturing, and every freed graph unregisters, none of it locked. 40 threads
/// capturing at once corrupted it and aborted the process. Captures only record launches (a
/// few ms), so taking turns costs little. A CUDA random op on any thread during a capture
/// still fails, so models are built on the CPU and then moved ([`super::checkpoint::load`]).
static GENERATOR_STATE: Mutex<()> = Mutex::new(());

fn generator_state() -> MutexGuard<'static, ()> {
    // The lock guards no data of ours: one that panicked while holding it left nothing broken.
    GENERATOR_STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a forward pass could not be captured.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("CUDA graphs are off (METAPIX_CUDA_GRAPHS=off)")]
    Off,
    #[error("this build has no CUDA graph support (the CUDA headers were missing)")]
    NotBuilt,
    #[error("CUDA graphs need a CUDA device, not {0:?}")]
    NotCuda(Device),
    #[error("loading the CUDA graph shim: {0}")]
    Load(String),
    #[error("capturing a CUDA graph: {0}")]
    Capture(String),
    #[error("replaying a CUDA graph: {0}")]
    Replay(String),
    #[error("giving a thread its own CUDA stream: {0}")]
    Stream(String),
    #[error("waiting for the CUDA device: {0}")]
    Wait(String),
    #[error("allocating pinned host memory: {0}")]
    Pin(String),
}

/// Whether the user left graphs on (`METAPIX_CUDA_GRAPHS`, default on).
pub fn enabled() -> bool {
    !matches!(
        std::env::var("METAPIX_CUDA_GRAPHS").as_deref(),
        Ok("off" | "0" | "false")
    )
}

type Call = unsafe extern "C" fn(*mut c_void) -> c_int;

/// The shim's functions.
struct Shim {
    _lib: Library,
    last_error: unsafe extern "C" fn() -> *const c_char,
    new: unsafe extern "C" fn(c_int, *mut *mut c_void) -> c_int,
    free: unsafe extern "C" fn(*mut c_void),
    enter: Call,
    capture_begin: Call,
    capture_end: Call,
    leave: Call,
    replay: Call,
    own_stream: unsafe extern "C" fn(c_int) -> c_int,
    set_host_sync: unsafe extern "C" fn(c_int, c_uint) -> c_int,
    sync_stream: unsafe extern "C" fn(c_int) -> c_int,
    pinned_bytes: unsafe extern "C" fn(i64, *mut *mut c_void) -> c_int,
}

impl Shim {
    fn get() -> Result<&'static Shim, GraphError> {
        static SHIM_LOADED: OnceLock<Result<Shim, GraphError>> = OnceLock::new();
        SHIM_LOADED
            .get_or_init(Self::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load() -> Result<Shim, GraphError> {
        if SHIM.is_empty() {
            return Err(GraphError::NotBuilt);
        }
        let load = |e: libloading::Error| GraphError::Load(e.to_string());
        // SAFETY: libc10_cuda is libtorch's own CUDA core, loaded already where libtorch_cuda
        // is: opening it again only makes its symbols global for the shim. The shim has no
        // static initializers; its symbols are looked up with the types cuda_graph.cpp gives.
        unsafe {
            std::mem::forget(
                Library::open(Some("libc10_cuda.so"), RTLD_NOW | RTLD_GLOBAL).map_err(load)?,
            );
            let lib = Library::open(Some(shim_path()?), RTLD_NOW).map_err(load)?;
            let get =
                |name: &[u8]| -> Result<Symbol<Call>, GraphError> { lib.get(name).map_err(load) };
            let (enter, capture_begin) =
                (*get(b"mp_graph_enter")?, *get(b"mp_graph_capture_begin")?);
            let (capture_end, leave) = (*get(b"mp_graph_capture_end")?, *get(b"mp_graph_leave")?);
            let replay = *get(b"mp_graph_replay")?;
            let own_stream = *lib.get(b"mp_use_own_stream").map_err(load)?;
            let set_host_sync = *lib.get(b"mp_set_host_sync").map_err(load)?;
            let sync_stream = *lib.get(b"mp_sync_current_stream").map_err(load)?;
            let pinned_bytes = *lib.get(b"mp_pinned_bytes").map_err(load)?;
            Ok(Shim {
                last_error: *lib.get(b"mp_graph_last_error").map_err(load)?,
                new: *lib.get(b"mp_graph_new").map_err(load)?,
                free: *lib.get(b"mp_graph_free").map_err(load)?,
                enter,
                capture_begin,
                capture_end,
                leave,
                replay,
                own_stream,
                set_host_sync,
                sync_stream,
                pinned_bytes,
                _lib: lib,
            })
        }
    }

    /// Runs one shim call on `graph`; a failure is a capture's unless [`Self::replay`] says.
    fn call(&self, f: Call, graph: *mut c_void) -> Result<(), GraphError> {
        // SAFETY: `graph` came from `mp_graph_new` and is freed only on drop.
        if unsafe { f(graph) } == 0 {
            return Ok(());
        }
        Err(GraphError::Capture(self.error()))
    }

    fn replay(&self, graph: *mut c_void) -> Result<(), GraphError> {
        self.call(self.replay, graph).map_err(|e| match e {
            GraphError::Capture(text) => GraphError::Replay(text),
            other => other,
        })
    }

    fn error(&self) -> String {
        // SAFETY: the shim returns its thread's last message, a NUL-terminated string that
        // lives until its next call on this thread.
        let text = unsafe { CStr::from_ptr((self.last_error)()) };
        text.to_string_lossy()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// The embedded shim as a file the loader can open: an anonymous in-memory file, so nothing
/// is left on disk.
fn shim_path() -> Result<String, GraphError> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create takes a NUL-terminated name and returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(c"metapix-cuda-graph".as_ptr(), 0) };
    if fd < 0 {
        return Err(GraphError::Load(
            std::io::Error::last_os_error().to_string(),
        ));
    }
    // SAFETY: `fd` is ours alone. It stays open (forgotten) for the process's life, so the
    // path stays valid for the loader.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(SHIM)
        .map_err(|e| GraphError::Load(e.to_string()))?;
    std::mem::forget(file);
    Ok(format!("/proc/self/fd/{fd}"))
}

/// A captured CUDA graph (owned; freed on drop).
struct Graph {
    shim: &'static Shim,
    raw: *mut c_void,
}

// SAFETY: a CUDAGraph may be replayed and freed from any thread; metapix uses each from one
// thread at a time (the stage that owns its generator).
unsafe impl Send for Graph {}

impl Drop for Graph {
    fn drop(&mut self) {
        let _turn = generator_state();
        // SAFETY: `raw` came from `mp_graph_new` and is freed once, here.
        unsafe { (self.shim.free)(self.raw) }
    }
}

/// A forward pass captured as a CUDA graph over fixed input tensors: [`Self::run`] copies
/// new inputs into them and replays the graph.
pub struct CapturedForward {
    // Fields drop in this order: the output lives in the graph's memory pool, so it goes
    // back before the graph does.
    output: Tensor,
    inputs: Vec<Tensor>,
    graph: Graph,
}

impl std::fmt::Debug for CapturedForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CapturedForward")
            .field("output", &self.output.size())
            .finish()
    }
}

impl CapturedForward {
    /// Captures `forward` over copies of `inputs` (on one CUDA device, with the shapes and
    /// kinds every later call will have). Run it with gradients off: a graph only replays.
    pub fn capture(
        inputs: &[&Tensor],
        forward: impl Fn(&[Tensor]) -> Tensor,
    ) -> Result<Self, GraphError> {
        if !enabled() {
            return Err(GraphError::Off);
        }
        let device = inputs.first().map_or(Device::Cpu, |t| t.device());
        let Device::Cuda(index) = device else {
            return Err(GraphError::NotCuda(device));
        };
        let shim = Shim::get()?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` receives a new graph, owned below.
        if unsafe { (shim.new)(index as c_int, &mut raw) } != 0 {
            return Err(GraphError::Capture(shim.error()));
        }
        let graph = Graph { shim, raw };
        let inputs: Vec<Tensor> = inputs.iter().map(|t| t.copy()).collect();
        shim.call(shim.enter, raw)?;
        let captured = Self::record(&graph, &inputs, &forward);
        // The thread's stream goes back whatever happened.
        let left = shim.call(shim.leave, raw);
        let output = captured?;
        left?;
        Ok(Self {
            output,
            inputs,
            graph,
        })
    }

    /// The warm-up runs and the capture, on the graph's stream.
    fn record(
        graph: &Graph,
        inputs: &[Tensor],
        forward: &impl Fn(&[Tensor]) -> Tensor,
    ) -> Result<Tensor, GraphError> {
        let failed = |e: guard::TorchError| GraphError::Capture(e.0);
        guard::torch(|| (0..WARMUP_RUNS).for_each(|_| drop(forward(inputs)))).map_err(failed)?;
        let shim = graph.shim;
        let _turn = generator_state();
        shim.call(shim.capture_begin, graph.raw)?;
        let output = guard::torch(|| forward(inputs));
        // A capture is always ended, so the stream is usable again when the forward failed.
        let ended = shim.call(shim.capture_end, graph.raw);
        let output = output.map_err(failed)?;
        ended.map(|()| output)
    }

    /// `inputs` (as at capture) through the graph. The tensor returned is the graph's own
    /// output, overwritten by the next run: read it before then.
    pub fn run(&self, inputs: &[&Tensor]) -> Result<Tensor, GraphError> {
        assert_eq!(inputs.len(), self.inputs.len(), "inputs as at capture");
        let shim = self.graph.shim;
        guard::torch(|| {
            for (fixed, new) in self.inputs.iter().zip(inputs) {
                fixed.shallow_clone().copy_(new);
            }
        })
        .map_err(|e| GraphError::Replay(e.0))?;
        shim.replay(self.graph.raw)?;
        Ok(self.output.shallow_clone())
    }
}

/// Runs `call`, a shim function of a device index, with `device`'s; a failure is `error` of
/// the shim's reason. Nothing to do on the CPU.
fn device_call(
    device: Device,
    error: fn(String) -> GraphError,
    call: impl FnOnce(&Shim, c_int) -> c_int,
) -> Result<(), GraphError> {
    let Device::Cuda(index) = device else {
        return Ok(());
    };
    let shim = Shim::get()?;
    if call(shim, index as c_int) != 0 {
        return Err(error(shim.error()));
    }
    Ok(())
}

/// Gives the calling thread a CUDA stream of its own (made for it, never shared), once the
/// work queued on `device`'s legacy default stream so far is done. Every thread otherwise
/// queues on that one stream, so one stream of `metapix serve` waits for the others' copies
/// and kernels; on its own stream its work runs beside theirs. Graphs replay on the
/// thread's stream. Nothing to do on the CPU.
pub fn use_own_stream(device: Device) -> Result<(), GraphError> {
    // SAFETY: a plain call with a device index; failures come back as non-zero.
    device_call(device, GraphError::Stream, |shim, index| unsafe {
        (shim.own_stream)(index)
    })
}

/// Waits until the calling thread's current stream on `device` has done its work (nothing to
/// do on the CPU): before the host rewrites pinned memory an earlier copy may still read.
pub fn sync_current_stream(device: Device) -> Result<(), GraphError> {
    // SAFETY: a plain call with a device index; failures come back as non-zero.
    device_call(device, GraphError::Wait, |shim, index| unsafe {
        (shim.sync_stream)(index)
    })
}

/// A 1-D u8 tensor of `n` bytes in pinned host memory: copies from it to a GPU run on a copy
/// engine without holding the thread.
pub fn pinned_bytes(n: usize) -> Result<Tensor, GraphError> {
    let shim = Shim::get()?;
    let mut raw = std::ptr::null_mut();
    // SAFETY: on success `raw` is a new `at::Tensor*`, which is what tch's tensors hold; the
    // Tensor made from it owns it and frees it once.
    unsafe {
        if (shim.pinned_bytes)(n as i64, &mut raw) != 0 {
            return Err(GraphError::Pin(shim.error()));
        }
        Ok(Tensor::from_ptr(raw.cast()))
    }
}

/// How host threads wait for a CUDA device (`METAPIX_CUDA_SYNC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSync {
    /// CUDA's choice: spinning where there are more cores than contexts, as in `serve`.
    Auto,
    Spin,
    Yield,
    /// The thread sleeps until the device wakes it: no core spent waiting.
    Blocking,
}

impl HostSync {
    /// `METAPIX_CUDA_SYNC` (auto, spin, yield or blocking); None where unset, the value where
    /// it is none of those.
    pub fn from_env() -> Result<Option<Self>, String> {
        let Ok(value) = std::env::var("METAPIX_CUDA_SYNC") else {
            return Ok(None);
        };
        Ok(Some(match value.as_str() {
            "auto" => Self::Auto,
            "spin" => Self::Spin,
            "yield" => Self::Yield,
            "blocking" => Self::Blocking,
            _ => return Err(value),
        }))
    }

    /// cudaDeviceSchedule* flags.
    fn flags(self) -> c_uint {
        match self {
            Self::Auto => 0,
            Self::Spin => 1,
            Self::Yield => 2,
            Self::Blocking => 4,
        }
    }
}

/// Sets how host threads wait for `device`, before its first work.
pub fn set_host_sync(device: Device, sync: HostSync) -> Result<(), GraphError> {
    // SAFETY: a plain call with a device index and flags; failures come back as non-zero.
    device_call(device, GraphError::Wait, |shim, index| unsafe {
        (shim.set_host_sync)(index, sync.flags())
    })
}

/// A forward pass run through a CUDA graph where one can be captured (the first call
/// captures), eagerly elsewhere: on the CPU, with graphs off, or after a capture or replay
/// failed, which is said once.
#[derive(Debug, Default)]
pub enum Graphed {
    #[default]
    Untried,
    Captured(CapturedForward),
    Eager,
}

impl Graphed {
    /// `forward` of `inputs` (device tensors, the same shapes on every call); the result is
    /// valid until the next call.
    pub fn run(&mut self, inputs: &[&Tensor], forward: impl Fn(&[Tensor]) -> Tensor) -> Tensor {
        if let Graphed::Untried = self {
            *self = match CapturedForward::capture(inputs, &forward) {
                Ok(captured) => Graphed::Captured(captured),
                Err(e) => {
                    if !matches!(e, GraphError::Off | GraphError::NotCuda(_)) {
                        tracing::warn!("{e}: generating without CUDA graphs");
                    }
                    Graphed::Eager
                }
            };
        }
        if let Graphed::Captured(captured) = self {
            match captured.run(inputs) {
                Ok(output) => return output,
                Err(e) => {
                    tracing::warn!("{e}: generating without CUDA graphs from now on");
                    *self = Graphed::Eager;
                }
            }
        }
        let inputs: Vec<Tensor> = inputs.iter().map(|t| t.shallow_clone()).collect();
        forward(&inputs)
    }

    /// Whether the forward runs as a graph.
    pub fn is_captured(&self) -> bool {
        matches!(self, Graphed::Captured(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::{self, DeviceChoice};
    use crate::model::{Pose2Im, Pose2ImConfig};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Barrier;
    use tch::nn::{Module, VarStore};
    use tch::Kind;

    /// On a GPU machine run this test alone (filter by its full name), as the generate
    /// stage's every-device test.
    #[test]
    fn a_replayed_graph_gives_the_eager_forward_for_each_new_input() {
        let gpu = device::select(DeviceChoice::Auto);
        let vs = VarStore::new(Device::Cpu);
        let model = Pose2Im::new(&vs.root(), Pose2ImConfig::lite(6));
        let input = |seed| {
            tch::manual_seed(seed);
            Tensor::rand([1, 6, 64, 64], (Kind::Float, Device::Cpu))
        };
        // Off CUDA nothing is captured and the forward runs eagerly.
        let mut graphed = Graphed::default();
        let x = input(1);
        let out = tch::no_grad(|| graphed.run(&[&x], |x| model.forward(&x[0])));
        assert!(!graphed.is_captured());
        // The same forward twice: equal but for the order a CPU library may sum in, far below
        // the outputs' scale (-1..1).
        assert!(out.allclose(&tch::no_grad(|| model.forward(&x)), 1e-4, 1e-4, false));
        let Ok(gpu @ Device::Cuda(_)) = gpu else {
            println!("skipped on CUDA: no CUDA");
            return;
        };
        // Built on the CPU and moved, as checkpoint::load does (random draws on CUDA fail
        // while another test's thread captures).
        let mut vs = VarStore::new(Device::Cpu);
        let model = Pose2Im::new(&vs.root(), Pose2ImConfig::lite(6));
        vs.set_device(gpu);
        vs.set_kind(Kind::BFloat16);
        // As a stream's generating thread: weights made on the default stream, then the
        // thread on a stream of its own, where the graph is captured and replayed.
        use_own_stream(gpu).unwrap();
        let captured = tch::no_grad(|| {
            let x = input(1).to_device(gpu).to_kind(Kind::BFloat16);
            CapturedForward::capture(&[&x], |x| model.forward(&x[0]))
        })
        .unwrap();
        for seed in [2, 3] {
            let x = input(seed).to_device(gpu).to_kind(Kind::BFloat16);
            let eager = tch::no_grad(|| model.forward(&x)).to_kind(Kind::Float);
            let replayed = captured.run(&[&x]).unwrap().to_kind(Kind::Float);
            // The same kernels on the same input: equal up to bf16's last bit (outputs are
            // in -1..1, where that is 2^-7).
            let gap = (&eager - &replayed).abs().max().double_value(&[]);
            println!("input {seed}: largest gap between eager and replay {gap:e}");
            assert!(gap <= 1.0 / 128.0, "replay strays {gap} from eager");
            let previous = input(seed - 1).to_device(gpu).to_kind(Kind::BFloat16);
            let stale = tch::no_grad(|| model.forward(&previous)).to_kind(Kind::Float);
            assert!(
                (&stale - &replayed).abs().max().double_value(&[]) > 1.0 / 64.0,
                "the replay ignored the new input"
            );
        }
    }

    /// What `metapix serve` does when its streams start together, with more streams than
    /// libtorch's pool holds (32): 40 threads, each on a stream of its own, capture and replay
    /// at once (captures taking turns, warm-ups and replays not), while one more thread
    /// uploads and computes eagerly on its own stream until they are done. No capture may
    /// fail or take another's work, and the eager thread may not fail. Inputs are drawn on
    /// the CPU: a CUDA random op while another thread captures fails in libtorch.
    #[test]
    fn more_threads_than_the_stream_pool_capture_beside_eager_work() {
        const CAPTURING: usize = 40;
        let Ok(gpu @ Device::Cuda(_)) = device::select(DeviceChoice::Auto) else {
            println!("skipped: no CUDA");
            return;
        };
        let start = Barrier::new(CAPTURING + 1);
        let done = AtomicUsize::new(0);
        let upload = |seed: i64| {
            tch::manual_seed(seed);
            Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu)).to_device(gpu)
        };
        let capture = |seed: i64| -> Result<f64, String> {
            start.wait();
            let scale = seed as f64;
            let replay_gap = || -> Result<f64, String> {
                use_own_stream(gpu).map_err(|e| e.to_string())?;
                let x = upload(seed);
                let captured =
                    tch::no_grad(|| CapturedForward::capture(&[&x], |x| x[0].sin() * scale))
                        .map_err(|e| e.to_string())?;
                let y = upload(seed + 1000);
                let replayed = captured.run(&[&y]).map_err(|e| e.to_string())?;
                Ok((replayed - y.sin() * scale).abs().max().double_value(&[]))
            };
            let gap = replay_gap();
            done.fetch_add(1, SeqCst);
            gap
        };
        let eager = || -> Result<(f64, usize), String> {
            start.wait();
            use_own_stream(gpu).map_err(|e| e.to_string())?;
            let (mut worst, mut rounds) = (0f64, 0);
            while rounds == 0 || done.load(SeqCst) < CAPTURING {
                let x = Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu));
                let gap = guard::torch(|| x.to_device(gpu).sin().to_device(Device::Cpu) - x.sin())
                    .map_err(|e| e.0)?;
                worst = worst.max(gap.abs().max().double_value(&[]));
                rounds += 1;
            }
            Ok((worst, rounds))
        };
        let (captures, eager) = std::thread::scope(|scope| {
            let threads: Vec<_> = (1..=CAPTURING as i64)
                .map(|seed| scope.spawn(move || capture(seed)))
                .collect();
            let eager = scope.spawn(eager).join().unwrap();
            let captures: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            (captures, eager)
        });
        // Float rounding only: f32 keeps 24 bits, so sines (up to 1) differ by about 1e-7
        // between GPU and CPU, and replays of up to 40 sin x from eager by about 5e-6.
        let (gap, rounds) = eager.unwrap();
        println!("the eager thread ran {rounds} rounds beside the captures");
        assert!(
            gap < 1e-5,
            "the eager thread's result strays {gap} from the CPU's"
        );
        for (seed, gap) in (1..).zip(captures) {
            let gap = gap.unwrap_or_else(|e| panic!("thread {seed}: {e}"));
            assert!(gap < 1e-4, "thread {seed}: replay strays {gap} from eager");
        }
    }
}
