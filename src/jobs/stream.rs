//! `metapix-stream INPUT OUTPUT`: decode, estimate poses, render the chosen view, encode.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::JobError;
use crate::generate::{Generator, ModelChoice};
use crate::model::device::{self, DeviceChoice};
use crate::pipeline::{run_graph, GraphConfig};
use crate::pose::{PoseConfig, PoseEstimator};
use crate::progress::Progress;
use crate::render::View;
use crate::stats::RunStats;
use crate::stream::{open_input, open_output, InputSpec, OutputSpec};

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
        })
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
        // The generator first: libtorch must find CUDA before anything else asks it.
        let generator = if self.view == View::Skeleton {
            None
        } else {
            let device = device::select(self.device)
                .map_err(|e| JobError::InvalidArgument(e.to_string()))?;
            if device == tch::Device::Cpu {
                // The pose stage keeps one core busy; more generator threads than the cores
                // left only fight it (2 cores: 16.6 fps with one thread, 11.7 with two).
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                tch::set_num_threads(cores.saturating_sub(1).max(1) as i32);
            }
            Some(Generator::load(&self.model, device)?)
        };
        let mut input = open_input(&self.input, stop.clone())?;
        let pose = PoseEstimator::new(&self.pose)?;
        let frame_size = self.view.frame_size(self.size, generator.is_some());
        let info = input.info.clone();
        let (fps, total) = (info.fps, info.estimated_frames());
        let mut output = open_output(&self.output, frame_size, fps, Some(&mut input))?;
        let config = GraphConfig {
            view: self.view,
            size: self.size,
        };
        progress.set_total(total);
        let report = run_graph(
            input.into_source(),
            pose,
            generator,
            &mut output,
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
        if !interrupted {
            let InputSpec::File(path) = &self.input;
            info.check_complete(path, report.frames_in, report.input_end)?;
        }
        Ok(stats)
    }
}
