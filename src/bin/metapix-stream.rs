//! `metapix-stream INPUT OUTPUT`: renders the driving motion in INPUT into OUTPUT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
#[path = "common/mod.rs"]
mod cli;
use metapix::jobs::stream::StreamJob;
use metapix::render::View;

/// Renders the motion in a driving video: pose estimation, then the chosen view, encoded.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// A video file (anything GStreamer's decodebin reads), `webcam` (= v4l2:///dev/video0),
    /// v4l2:///dev/videoN, an rtsp://, http:// or https:// URL, or `testsrc` (a live
    /// synthetic dancer stamped with a frame counter; `testsrc:WIDTHxHEIGHT@FPS`, default
    /// 640x480@30).
    input: String,
    /// An .mp4, .mkv or .webm file (the container follows the extension),
    /// rtsp://ADDR:PORT/PATH (serve; bind 127.0.0.1 unless you name another address),
    /// v4l2:///dev/videoN (a v4l2loopback virtual camera), `display` (a window) or `null`.
    output: String,
    /// What to show: the generated person (default), the stick figure alone, or the driving
    /// frame, the stick figure and the person side by side.
    #[arg(long, value_enum)]
    view: Option<ViewArg>,
    /// The person to render: a metapix personalize checkpoint (default: the built-in avatar).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Where the generator runs.
    #[arg(long, value_enum, default_value_t = cli::DeviceArg::Auto)]
    device: cli::DeviceArg,
    /// Side of one square panel in pixels (even, 64..4096).
    #[arg(long, default_value_t = 512)]
    size: u32,
    /// Write a JSON summary (frames, fps, per-stage latency percentiles) here.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Live inputs: drop frames older than this (since capture) before the generator.
    #[arg(long, value_name = "MS")]
    max_latency_ms: Option<u64>,
    /// A camera or network input that drops out is reopened, for up to this long each time,
    /// instead of ending the run (the output stays open meanwhile).
    #[arg(long, value_name = "SECS")]
    reconnect: Option<u64>,
    /// Print fps in/out, drops and latency percentiles to stderr once a second.
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    pose: cli::PoseArgs,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// `--view`: what the output shows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ViewArg {
    /// The generated person, one square panel (needs a model).
    Gen,
    /// The stick figure on black, one square panel.
    Skeleton,
    /// The driving frame and the stick figure (and the generated person, with a model),
    /// panels side by side.
    SideBySide,
}

impl From<ViewArg> for View {
    fn from(v: ViewArg) -> Self {
        match v {
            ViewArg::Gen => View::Gen,
            ViewArg::Skeleton => View::Skeleton,
            ViewArg::SideBySide => View::SideBySide,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run("metapix-stream", || {
        let job = StreamJob::new(
            &args.input,
            &args.output,
            args.view.map(View::from),
            args.size,
            args.pose.config()?,
            args.stats.clone(),
        )?
        .with_model(args.model.clone(), args.device.into())?
        .with_live(args.max_latency_ms, args.verbose)?
        .with_reconnect(args.reconnect)?;
        let stop = cli::stop_on_signal()?;
        let mut progress = cli::progress("metapix-stream", "frames", args.quiet);
        let stats = job.run(stop, &mut progress)?;
        let note = if stats.interrupted {
            " (stopped early; the file is complete up to there)"
        } else {
            ""
        };
        eprintln!(
            "wrote {} frames to {} at {:.1} fps{note}",
            stats.frames_out, stats.output, stats.fps
        );
        Ok(())
    })
}
