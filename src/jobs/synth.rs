//! `metapix synth --out DIR`: videos of synthetic people with their exact skeletons, for the
//! demo (which needs a driving video on a machine with no footage) and for tests.
//!
//! Writes `identity-NNN.mp4` and `identity-NNN.poses.jsonl` (ground truth, in the format of
//! `metapix pose`) for each identity. Identity 0 with seed 0 is the demo's dancer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::JobError;
use crate::endpoints::FrameSink;
use crate::posefile::{PoseRecord, PoseWriter};
use crate::progress::Progress;
use crate::stream::{open_output, Container, OutputSpec};
use crate::synth::SyntheticPerson;
use crate::Frame;

/// A validated synth job.
#[derive(Debug, Clone)]
pub struct SynthJob {
    pub out: PathBuf,
    pub identities: u32,
    pub frames: u64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
}

impl SynthJob {
    pub fn new(
        out: &Path,
        identities: u32,
        seconds: f64,
        fps: u32,
        (width, height): (u32, u32),
        seed: u64,
    ) -> Result<Self, JobError> {
        let bad = |m: String| Err(JobError::InvalidArgument(m));
        if identities == 0 {
            return bad("--identities must be at least 1".into());
        }
        if !(1..=240).contains(&fps) {
            return bad(format!("--fps {fps}: use 1 to 240"));
        }
        if !(seconds > 0.0 && seconds <= 3600.0) {
            return bad(format!(
                "--seconds {seconds}: use more than 0 and at most 3600"
            ));
        }
        for side in [width, height] {
            super::check_size(side)?;
        }
        std::fs::create_dir_all(out).map_err(JobError::write(out))?;
        Ok(Self {
            out: out.to_path_buf(),
            identities,
            frames: (seconds * fps as f64).round().max(1.0) as u64,
            fps,
            width,
            height,
            seed,
        })
    }

    /// The person of identity `i`.
    pub fn person(&self, i: u32) -> SyntheticPerson {
        match (self.seed, i) {
            (0, 0) => SyntheticPerson::demo(),
            _ => SyntheticPerson::random(self.seed.wrapping_mul(1_000_003).wrapping_add(i as u64)),
        }
    }

    /// The video path of identity `i`.
    pub fn video_path(&self, i: u32) -> PathBuf {
        self.out.join(format!("identity-{i:03}.mp4"))
    }

    /// Renders every identity; on `stop` the file in progress is finished where it is.
    pub fn run(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
    ) -> Result<Vec<PathBuf>, JobError> {
        progress.set_total(Some(self.frames * self.identities as u64));
        let mut written = Vec::new();
        let mut done = 0;
        for i in 0..self.identities {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let video = self.video_path(i);
            let poses = video.with_extension("poses.jsonl");
            let spec = OutputSpec::File {
                path: video.clone(),
                container: Container::Mp4,
            };
            let fps = (self.fps as i32, 1);
            let mut sink = open_output(&spec, (self.width, self.height), Some(fps), None)?;
            let mut truth = PoseWriter::create(&poses).map_err(JobError::write(&poses))?;
            let person = self.person(i);
            let period = Duration::from_secs_f64(1.0 / self.fps as f64);
            for index in 0..self.frames {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let pts = period * index as u32;
                let (image, skeleton) = person.render(pts.as_secs_f32(), self.width, self.height);
                let frame = Frame {
                    index,
                    pts: Some(pts),
                    duration: Some(period),
                    arrived: Instant::now(),
                    image,
                };
                sink.write(&frame)?;
                truth
                    .write(&PoseRecord::new(index, pts, &skeleton))
                    .map_err(JobError::write(&poses))?;
                done += 1;
                progress.update(done);
            }
            sink.finish()?;
            truth.finish().map_err(JobError::write(&poses))?;
            written.push(video);
        }
        progress.finish(done);
        Ok(written)
    }
}
