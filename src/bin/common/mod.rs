//! What both binaries share: pose flags, Ctrl-C handling, progress, and the one exit-code
//! policy (a one-line error on stderr and exit 1; never a panic message).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use metapix::jobs::progress::Progress;
use metapix::pose::{OneEuroParams, PoseConfig};

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
    /// ONNX Runtime threads per model.
    #[arg(long, default_value_t = 1)]
    pub pose_threads: usize,
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
            threads: self.pose_threads.max(1),
            smoothing: (self.smoothing == Smoothing::OneEuro).then_some(OneEuroParams {
                min_cutoff: self.min_cutoff,
                beta: self.beta,
                ..OneEuroParams::MEDIAPIPE_LANDMARKS
            }),
            ..PoseConfig::default()
        })
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

pub fn progress(label: &str, quiet: bool) -> Progress {
    if quiet {
        Progress::hidden()
    } else {
        Progress::new(label)
    }
}

/// Runs `body`, turning an error chain into one line on stderr and exit status 1.
pub fn run(program: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("METAPIX_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("{program}: error: {line}");
            ExitCode::FAILURE
        }
    }
}
