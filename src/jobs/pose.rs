//! `metapix pose INPUT --out poses.jsonl`: the skeleton in every frame, one JSON line each.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::JobError;
use crate::base::posefile::{PoseRecord, PoseWriter};
use crate::jobs::progress::Progress;
use crate::pose::{PoseConfig, PoseEstimator};
use crate::stream::{open_input, InputSpec};
use crate::RgbImage;

/// Extensions read as one still image rather than a video.
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// A validated pose job.
#[derive(Debug, Clone)]
pub struct PoseJob {
    pub input: InputSpec,
    pub out: PathBuf,
    pub pose: PoseConfig,
}

/// What a pose job found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoseSummary {
    pub frames: u64,
    pub frames_with_person: u64,
    pub interrupted: bool,
}

impl PoseJob {
    pub fn new(input: &str, out: &Path, pose: PoseConfig) -> Result<Self, JobError> {
        let input = InputSpec::parse(input)?;
        crate::stream::check_output_dir(out)?;
        Ok(Self {
            input,
            out: out.to_path_buf(),
            pose,
        })
    }

    /// Writes the pose file; on `stop` it keeps the frames done so far.
    pub fn run(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
    ) -> Result<PoseSummary, JobError> {
        if let InputSpec::File(path) = &self.input {
            if is_image(path) {
                return self.run_image(path);
            }
        }
        let input = open_input(&self.input, stop.clone())?;
        let mut estimator = PoseEstimator::new(&self.pose)?;
        progress.set_total(input.info.estimated_frames());
        let period = input
            .info
            .fps
            .map(|(n, d)| Duration::from_secs_f64(d as f64 / n as f64))
            .unwrap_or(Duration::from_millis(33));
        let info = input.info.clone();
        let mut source = input.into_source();
        let mut end = None;
        let mut writer = PoseWriter::create(&self.out).map_err(JobError::write(&self.out))?;
        let mut summary = PoseSummary {
            frames: 0,
            frames_with_person: 0,
            interrupted: false,
        };
        while let Some(frame) = source.next_frame()? {
            let t = frame.pts.unwrap_or(period * frame.index as u32);
            end = Some(t + frame.duration.unwrap_or(period));
            let skeleton = estimator.process(&frame.image, t)?;
            summary.frames += 1;
            summary.frames_with_person += u64::from(skeleton.found());
            writer
                .write(&PoseRecord::new(frame.index, t, &skeleton))
                .map_err(JobError::write(&self.out))?;
            progress.update(summary.frames);
        }
        summary.interrupted = stop.load(Ordering::Relaxed);
        writer.finish().map_err(JobError::write(&self.out))?;
        progress.finish(summary.frames);
        if let (false, InputSpec::File(path)) = (summary.interrupted, &self.input) {
            info.check_complete(path, summary.frames, end)?;
        }
        Ok(summary)
    }

    fn run_image(&self, path: &Path) -> Result<PoseSummary, JobError> {
        let image = RgbImage::open(path).map_err(|e| JobError::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let config = PoseConfig {
            static_images: true,
            smoothing: None,
            ..self.pose.clone()
        };
        let skeleton = PoseEstimator::new(&config)?.process(&image, Duration::ZERO)?;
        let mut writer = PoseWriter::create(&self.out).map_err(JobError::write(&self.out))?;
        writer
            .write(&PoseRecord::new(0, Duration::ZERO, &skeleton))
            .map_err(JobError::write(&self.out))?;
        writer.finish().map_err(JobError::write(&self.out))?;
        Ok(PoseSummary {
            frames: 1,
            frames_with_person: u64::from(skeleton.found()),
            interrupted: false,
        })
    }
}

pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
