//! What both binaries share: the pose and device flags, Ctrl-C, logging, progress, and the
//! one exit-code policy: a one-line error on stderr and exit 1, never a panic message.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use metapix::jobs::progress::Progress;
use metapix::model::DeviceChoice;
use metapix::pose::{OneEuroParams, PoseConfig};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Pose-stage flags.
#[derive(clap::Args, Debug, Clone)]
pub struct PoseArgs {
    /// Folder with the ONNX pose models (default: $METAPIX_MODELS, then the cache).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// ONNX Runtime library (default: $ORT_DYLIB_PATH, then the cache).
    #[arg(long, value_name = "FILE")]
    pub onnxruntime: Option<PathBuf>,
    /// Landmark smoothing: MediaPipe's One-Euro filter, or none.
    #[arg(long, value_enum, default_value_t = Smoothing::OneEuro)]
    pub smoothing: Smoothing,
    /// One-Euro cutoff at rest in Hz (lower: steadier, laggier).
    #[arg(long, default_value_t = OneEuroParams::MEDIAPIPE_LANDMARKS.min_cutoff)]
    pub min_cutoff: f64,
    /// One-Euro speed coefficient (higher: less lag on fast moves).
    #[arg(long, default_value_t = OneEuroParams::MEDIAPIPE_LANDMARKS.beta)]
    pub beta: f64,
    /// ONNX Runtime threads per model (at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub pose_threads: u64,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smoothing {
    OneEuro,
    None,
}

impl PoseArgs {
    /// The pose configuration; loads ONNX Runtime from `--onnxruntime` if given, so that
    /// a bad path is reported here.
    pub fn config(&self) -> anyhow::Result<PoseConfig> {
        if let Some(lib) = &self.onnxruntime {
            metapix::pose::assets::onnx_environment(Some(lib))?;
        }
        if self.min_cutoff <= 0.0 || self.beta < 0.0 {
            anyhow::bail!("--min-cutoff must be > 0 and --beta >= 0");
        }
        Ok(PoseConfig {
            models_dir: self.models.clone(),
            threads: self.pose_threads as usize,
            smoothing: (self.smoothing == Smoothing::OneEuro).then_some(OneEuroParams {
                min_cutoff: self.min_cutoff,
                beta: self.beta,
                ..OneEuroParams::MEDIAPIPE_LANDMARKS
            }),
            ..PoseConfig::default()
        })
    }
}

/// `--device`: where the generator runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    /// CUDA when libtorch finds a GPU, else the CPU.
    Auto,
    Cpu,
    Cuda,
}

impl From<DeviceArg> for DeviceChoice {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Auto => DeviceChoice::Auto,
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Cuda => DeviceChoice::Cuda,
        }
    }
}

/// A flag raised by the first Ctrl-C or SIGTERM, so the job stops reading and finishes its
/// output; a second one exits at once.
pub fn stop_on_signal() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("interrupted again: exiting without finishing the output");
            std::process::exit(130);
        }
        eprintln!("stopping: finishing the output (press Ctrl-C again to abort)");
    })?;
    Ok(stop)
}

/// Progress on stderr under `label`, counting `unit`, unless `quiet`.
pub fn progress(label: &str, unit: &'static str, quiet: bool) -> Progress {
    if quiet {
        Progress::hidden()
    } else {
        Progress::new(label, unit)
    }
}

/// Runs `body`, turning an error chain into one line on stderr and exit status 1. A panic
/// is a defect, but it too ends as one line and exit 1 rather than a backtrace.
pub fn run(program: &'static str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    keep_freed_memory();
    start_logging(program);
    // Panics caught on purpose (libtorch failures turned into errors, a stage's panic
    // reported by the graph) must not print on their own; `METAPIX_LOG=debug` shows them.
    std::panic::set_hook(Box::new(|info| tracing::debug!("panic: {info}")));
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("{program}: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
        Err(payload) => {
            // A libtorch failure where no guard caught it (CUDA out of memory in a place
            // nobody expected) is still the user's to act on, not a defect.
            if let Some(torch) = metapix::model::TorchError::from_panic(payload.as_ref()) {
                eprintln!("{program}: error: {torch}");
                return ExitCode::FAILURE;
            }
            let message = metapix::base::panic_text(payload.as_ref());
            let first = message.lines().next().unwrap_or_default();
            eprintln!("{program}: error: internal error (a defect; please report it): {first}");
            ExitCode::FAILURE
        }
    }
}

/// Keeps freed tensors' memory in the process. glibc gives every block over its mmap
/// threshold back to the kernel when it is freed, and the kernel zeroes fresh pages when the
/// next step's tensors of the same size take them: a 256 px Posewarp training step on the
/// CPU spent nearly as long in the kernel as in torch. Blocks up to 32 MB (glibc's largest
/// threshold) now stay in the heap, and the heap is not trimmed below 1 GB
/// (docs/BENCHMARKS.md has the figures).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// An error and its causes in one line, each said once: a message that already quotes
/// its cause (`cannot read X: No such file`) is not followed by the cause again.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The library's messages on stderr: information as plain lines, warnings and errors named
/// so, everything else only when `METAPIX_LOG` asks (e.g. `METAPIX_LOG=debug`).
fn start_logging(program: &'static str) {
    let filter = EnvFilter::try_from_env("METAPIX_LOG")
        .unwrap_or_else(|_| EnvFilter::new("error,metapix=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(Plain { program })
        .try_init();
}

/// Lines as a command-line tool prints them, not as a server logs them.
struct Plain {
    program: &'static str,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        match *meta.level() {
            Level::INFO => {}
            Level::WARN => write!(writer, "{}: warning: ", self.program)?,
            Level::ERROR => write!(writer, "{}: error: ", self.program)?,
            level => write!(writer, "{level} {}: ", meta.target())?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
