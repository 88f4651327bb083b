//! `metapix-stream INPUT OUTPUT`: decode, estimate poses, render the chosen view, encode.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::JobError;
use crate::base::stats::RunStats;
use crate::generate::{FrameGenerator, ModelChoice};
use crate::graph::{run_graph, GraphConfig, PoseStage};
use crate::jobs::progress::Progress;
use crate::model::device::{self, DeviceChoice};
use crate::pose::{PoseConfig, PoseEstimator};
use crate::render::View;
use crate::stream::reconnect::{Reconnecting, Reopen};
use crate::stream::{open_input, open_input_within, open_sink, FrameSource, InputSpec, OutputSpec};
use crate::synth::LiveTestSource;

/// A validated stream job.
#[derive(Debug, Clone)]
pub struct StreamJob {
    pub input: InputSpec,
    pub output: OutputSpec,
    pub view: View,
    pub size: u32,
    pub pose: PoseConfig,
    /// Who is rendered (unless the view is the stick figure alone).
    pub model: ModelChoice,
    pub device: DeviceChoice,
    /// Where to write the JSON run summary.
    pub stats: Option<PathBuf>,
    /// Live inputs: frames older than this are dropped before the generator.
    pub max_latency: Option<Duration>,
    /// Rates, drops and latencies on stderr once a second.
    pub verbose: bool,
    /// Names the stream in those lines (`metapix serve`; `live` otherwise).
    pub name: Option<String>,
    /// Live inputs from a camera or the network: how long to keep reopening one that
    /// dropped out before the run ends.
    pub reconnect: Option<Duration>,
    /// Threads for the generator on a CPU (default: every core but the one the pose stage
    /// keeps busy). Streams sharing a process share the cores.
    pub cpu_threads: Option<usize>,
}

impl StreamJob {
    /// Checks the arguments as typed; nothing is opened or created yet.
    pub fn new(
        input: &str,
        output: &str,
        view: Option<View>,
        size: u32,
        pose: PoseConfig,
        stats: Option<PathBuf>,
    ) -> Result<Self, JobError> {
        Ok(Self {
            input: InputSpec::parse(input)?,
            output: OutputSpec::parse(output)?,
            view: view.unwrap_or(View::Gen),
            size: super::check_size(size)?,
            pose,
            model: ModelChoice::DefaultAvatar,
            device: DeviceChoice::Auto,
            stats,
            max_latency: None,
            verbose: false,
            name: None,
            reconnect: None,
            cpu_threads: None,
        })
    }

    /// `--reconnect SECS`: reopen a camera or network input that drops out, for up to that
    /// long each time, instead of ending the run.
    pub fn with_reconnect(mut self, seconds: Option<u64>) -> Result<Self, JobError> {
        let Some(seconds) = seconds else {
            return Ok(self);
        };
        if !matches!(self.input, InputSpec::Url(_) | InputSpec::Camera(_)) {
            return Err(JobError::InvalidArgument(format!(
                "--reconnect applies to cameras and network streams, not {}",
                self.input
            )));
        }
        if seconds == 0 {
            return Err(JobError::InvalidArgument(
                "--reconnect must be at least 1 second".into(),
            ));
        }
        self.reconnect = Some(Duration::from_secs(seconds));
        Ok(self)
    }

    /// The latency budget for live inputs (`--max-latency-ms`) and the once-a-second report.
    pub fn with_live(
        mut self,
        max_latency_ms: Option<u64>,
        verbose: bool,
    ) -> Result<Self, JobError> {
        if max_latency_ms == Some(0) {
            return Err(JobError::InvalidArgument(
                "--max-latency-ms must be at least 1".into(),
            ));
        }
        self.max_latency = max_latency_ms.map(Duration::from_millis);
        self.verbose = verbose;
        Ok(self)
    }

    /// Renders the person in `model` (a `metapix personalize` checkpoint) instead of the
    /// default avatar, with the generator on `device`.
    pub fn with_model(
        mut self,
        model: Option<PathBuf>,
        device: DeviceChoice,
    ) -> Result<Self, JobError> {
        if let Some(model) = model {
            if !model.is_file() {
                return Err(JobError::InvalidArgument(format!(
                    "model not found: {}",
                    model.display()
                )));
            }
            self.model = ModelChoice::File(model);
        }
        self.device = device;
        Ok(self)
    }

    /// Runs until the input ends or `stop` is raised (the output is finished either way).
    /// Errors in the input or the models surface before the output file is created.
    pub fn run(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
    ) -> Result<RunStats, JobError> {
        self.run_with(stop, progress, None)
    }

    /// [`Self::run`] with the generator made elsewhere (a slot of serve's batch), or, where
    /// None, loaded here.
    pub fn run_with(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
        generator: Option<FrameGenerator>,
    ) -> Result<RunStats, JobError> {
        // The generator first: libtorch must find CUDA before anything else asks it.
        let generator = if self.view == View::Skeleton {
            None
        } else {
            let device = device::select(self.device)?;
            if device == tch::Device::Cpu {
                // The pose stage keeps one core busy; more generator threads than the cores
                // left only fight it (2 cores: 16.6 fps with one thread, 11.7 with two).
                let threads = self.cpu_threads.unwrap_or_else(|| generator_threads(1, 1));
                tch::set_num_threads(threads as i32);
            }
            match generator {
                Some(generator) => Some(generator),
                None => Some(FrameGenerator::load(&self.model, device)?),
            }
        };
        let frame_size = self.view.frame_size(self.size, generator.is_some());
        let live = self.input.is_live();
        let (source, info, mut output) = if let InputSpec::TestSrc(t) = &self.input {
            let pose = PoseEstimator::new(&self.pose)?;
            let fps = Some((t.fps as i32, 1));
            let output = open_sink(&self.output, frame_size, fps, None)?;
            let source = LiveTestSource::new((t.width, t.height), t.fps);
            (
                (Box::new(source) as Box<dyn FrameSource>, pose),
                None,
                output,
            )
        } else {
            let mut input = open_input(&self.input, stop.clone())?;
            let pose = PoseEstimator::new(&self.pose)?;
            let info = input.info.clone();
            let output = open_sink(&self.output, frame_size, info.fps, Some(&mut input))?;
            let mut source = input.into_source();
            if let Some(window) = self.reconnect {
                let (spec, reopen_stop) = (self.input.clone(), stop.clone());
                let reopen: Reopen = Box::new(move |left| {
                    Ok(open_input_within(&spec, reopen_stop.clone(), left)?.into_source())
                });
                source = Box::new(Reconnecting::new(source, reopen, window, stop.clone()));
            }
            ((source, pose), Some(info), output)
        };
        let config = GraphConfig {
            view: self.view,
            size: self.size,
            live,
            max_latency: self.max_latency,
            carry_stamp: matches!(self.input, InputSpec::TestSrc(_)),
            meter: self
                .verbose
                .then(|| self.name.clone().unwrap_or_else(|| "live".into())),
        };
        progress.set_total(info.as_ref().and_then(|i| i.estimated_frames()));
        let (source, pose) = source;
        let report = run_graph(
            source,
            Box::new(pose) as Box<dyn PoseStage>,
            generator,
            output.as_mut(),
            &config,
            &stop,
            &mut |n| progress.update(n),
        )?;
        progress.finish(report.frames_out);
        let interrupted = stop.load(Ordering::Relaxed);
        let stats = report.to_stats(self.input.to_string(), self.output.to_string(), interrupted);
        if let Some(path) = &self.stats {
            stats.write_json(path).map_err(JobError::write(path))?;
        }
        if let (false, InputSpec::File(path), Some(info)) = (interrupted, &self.input, &info) {
            info.check_complete(path, report.frames_in, report.input_end)?;
        }
        Ok(stats)
    }
}

/// Generator threads for each of `generating` streams on the CPU, among `streams` streams
/// sharing this machine: the cores their pose stages (a core each) leave, shared out, and at
/// least one. libtorch's thread count is the process's, so every stream of a process asks
/// for the same.
pub fn generator_threads(streams: usize, generating: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores.saturating_sub(streams) / generating.max(1)).max(1)
}
