//! `metapix synth --out DIR`: videos of synthetic people with their exact skeletons, for the
//! demo (which needs a driving video on a machine with no footage) and for tests.
//!
//! Writes `identity-NNN.mp4` and `identity-NNN.poses.jsonl` (ground truth, in the format of
//! `metapix pose`) for each identity; or, with `--prepared`, a prepared target per identity
//! (`identity-NNN/`, as `metapix prepare` writes, with the exact skeletons and the whole
//! square frame as the crop), which needs no GStreamer: training data on the GPU machine.
//! Identity 0 with seed 0 is the demo's dancer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::prepare::TargetWriter;
use super::JobError;
use crate::base::posefile::{PoseRecord, PoseWriter};
use crate::jobs::progress::Progress;
use crate::stream::endpoints::FrameSink;
use crate::stream::{open_output, Container, OutputSpec};
use crate::synth::{Motion, SyntheticPerson};
use crate::Frame;

/// A validated synth job.
#[derive(Debug, Clone)]
pub struct SynthJob {
    pub out: PathBuf,
    pub identities: u32,
    /// Frames of each dance.
    pub frames: u64,
    /// Dances each identity performs one after the other (more poses to learn from).
    pub dances: u32,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    /// Prepared targets instead of videos.
    pub prepared: bool,
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
            dances: 1,
            prepared: false,
        })
    }

    /// Each person performs `dances` dances one after the other.
    pub fn with_dances(mut self, dances: u32) -> Result<Self, JobError> {
        if dances == 0 {
            return Err(JobError::InvalidArgument(
                "--dances must be at least 1".into(),
            ));
        }
        self.dances = dances;
        Ok(self)
    }

    /// Writes prepared targets instead of videos: square frames of the smaller side, which
    /// must then be a size the generators take ([`super::check_training_size`]).
    pub fn prepared(mut self, prepared: bool) -> Result<Self, JobError> {
        if prepared {
            super::check_training_size(self.width.min(self.height))?;
        }
        self.prepared = prepared;
        Ok(self)
    }

    /// The person of identity `i`.
    pub fn person(&self, i: u32) -> SyntheticPerson {
        match (self.seed, i) {
            (0, 0) => SyntheticPerson::demo(),
            _ => SyntheticPerson::random(self.identity_seed(i)),
        }
    }

    fn identity_seed(&self, i: u32) -> u64 {
        self.seed.wrapping_mul(1_000_003).wrapping_add(i as u64)
    }

    /// Identity `i` in each of its dances: its own first, then others.
    fn dancers(&self, i: u32) -> Vec<SyntheticPerson> {
        let first = self.person(i);
        (0..self.dances)
            .map(|j| match j {
                0 => first.clone(),
                _ => SyntheticPerson {
                    identity: first.identity.clone(),
                    motion: Motion::dance(self.identity_seed(i).wrapping_mul(7919) + j as u64),
                },
            })
            .collect()
    }

    /// Frames of each identity.
    pub fn frames_per_identity(&self) -> u64 {
        self.frames * self.dances as u64
    }

    /// Who is drawn in frame `index` of identity `i` (from [`Self::dancers`]) and when in
    /// their dance; each dance starts from its beginning.
    fn at<'a>(&self, dancers: &'a [SyntheticPerson], index: u64) -> (&'a SyntheticPerson, f32) {
        let dance = (index / self.frames) as usize;
        let t = self.period() * (index % self.frames) as u32;
        (&dancers[dance], t.as_secs_f32())
    }

    /// The video path of identity `i`.
    pub fn video_path(&self, i: u32) -> PathBuf {
        self.out.join(format!("identity-{i:03}.mp4"))
    }

    /// The prepared-target folder of identity `i`.
    pub fn target_path(&self, i: u32) -> PathBuf {
        self.out.join(format!("identity-{i:03}"))
    }

    fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.fps as f64)
    }

    /// Renders every identity; on `stop` the file in progress is finished where it is.
    /// Returns the videos (or prepared folders) written.
    pub fn run(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
    ) -> Result<Vec<PathBuf>, JobError> {
        progress.set_total(Some(self.frames_per_identity() * self.identities as u64));
        let mut written = Vec::new();
        let mut done = 0;
        for i in 0..self.identities {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if self.prepared {
                written.push(self.write_prepared(i, &stop, progress, &mut done)?);
                continue;
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
            let dancers = self.dancers(i);
            let period = self.period();
            for index in 0..self.frames_per_identity() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let pts = period * index as u32;
                let (person, t) = self.at(&dancers, index);
                let (image, skeleton) = person.render(t, self.width, self.height);
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

    /// Identity `i` as a prepared target. A stop leaves it without `target.json`, so it is
    /// not mistaken for a finished one.
    fn write_prepared(
        &self,
        i: u32,
        stop: &AtomicBool,
        progress: &mut Progress,
        done: &mut u64,
    ) -> Result<PathBuf, JobError> {
        let dir = self.target_path(i);
        let dancers = self.dancers(i);
        let (w, h) = (self.width, self.height);
        let frames = self.frames_per_identity();
        let skeletons: Vec<_> = (0..frames)
            .map(|index| {
                let (person, t) = self.at(&dancers, index);
                (person.skeleton(t, w, h), self.period() * index as u32)
            })
            .collect();
        let side = w.min(h);
        let crop = [w as f32 / 2.0, h as f32 / 2.0, side as f32];
        let source = format!("metapix synth, seed {}, identity {i}", self.seed);
        let writer = TargetWriter::new(&dir, side, &skeletons, Some(crop), &source)?
            .with_masks()?
            .with_parts()?;
        for index in 0..frames {
            if stop.load(Ordering::Relaxed) {
                return Err(JobError::InvalidArgument(format!(
                    "stopped: {} is unfinished",
                    dir.display()
                )));
            }
            let (person, t) = self.at(&dancers, index);
            let (image, _) = person.render(t, w, h);
            writer.write_frame(index as usize, &image)?;
            // The renderer knows exactly where the person is, and which part is where.
            let (mask, parts) = (person.mask(t, w, h), person.parts(t, w, h));
            let at = |plane: &[u8], x: f32, y: f32| {
                let (col, row) = (x.floor(), y.floor());
                let inside = col >= 0.0 && row >= 0.0 && col < w as f32 && row < h as f32;
                if inside {
                    plane[row as usize * w as usize + col as usize]
                } else {
                    0
                }
            };
            writer.write_mask_with(index as usize, |x, y| f32::from(at(&mask, x, y)) / 255.0)?;
            writer.write_parts_with(index as usize, |x, y| at(&parts, x, y))?;
            *done += 1;
            progress.update(*done);
        }
        writer.finish()?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::prepare::TargetInfo;

    #[test]
    fn prepared_targets_hold_every_dance_with_exact_skeletons() {
        let dir = tempfile::tempdir().unwrap();
        let job = SynthJob::new(dir.path(), 1, 0.5, 10, (64, 96), 3)
            .and_then(|j| j.with_dances(2))
            .and_then(|j| j.prepared(true))
            .unwrap();
        let written = job
            .run(Arc::new(AtomicBool::new(false)), &mut Progress::hidden())
            .unwrap();
        assert_eq!(written, vec![job.target_path(0)]);
        let info = TargetInfo::read(&written[0]).unwrap();
        // Two dances of five frames, square crops of the smaller side, centred.
        assert_eq!(
            (info.frames, info.frames_with_person, info.size),
            (10, 10, 64)
        );
        assert_eq!(info.crop, [32.0, 48.0, 64.0]);
        let records = crate::base::posefile::read(&written[0].join("poses.jsonl")).unwrap();
        assert_eq!(records.len(), 10);
        let image = crate::RgbImage::open(&TargetInfo::frame_path(&written[0], 9)).unwrap();
        assert_eq!((image.width, image.height), (64, 64));
        // Frame 7 is the second dance's frame 2: its skeleton, moved up by the crop's top.
        let dancers = job.dancers(0);
        assert_ne!(dancers[0].motion, dancers[1].motion);
        let truth = dancers[1].skeleton(0.2, 64, 96);
        let stored = records[7].skeleton();
        for (t, s) in truth.landmarks.iter().zip(&stored.landmarks) {
            assert!((t.x - s.x).abs() < 1e-3 && (t.y - 16.0 - s.y).abs() < 1e-3);
        }
        // Its mask, cropped the same way, covers the person (hips and shoulders) and leaves
        // the room (the top corners) alone.
        assert!(info.masks);
        let mask = image::open(TargetInfo::mask_path(&written[0], 7))
            .unwrap()
            .into_luma8();
        assert_eq!(mask.dimensions(), (64, 64));
        for landmark in [11, 12, 23, 24] {
            let p = &stored.landmarks[landmark];
            let level = mask.get_pixel(p.x as u32, p.y as u32)[0];
            assert!(level > 200, "landmark {landmark}: {level}");
        }
        assert_eq!(mask.get_pixel(0, 0)[0], 0);
        assert_eq!(mask.get_pixel(63, 0)[0], 0);
        // Its part labels, cropped alike: the torso between shoulders and hips, no part in
        // the room.
        assert!(info.parts);
        let parts = image::open(TargetInfo::parts_path(&written[0], 7))
            .unwrap()
            .into_luma8();
        let centre = |ids: [usize; 4]| {
            let n = ids.len() as f32;
            let mean = |f: fn(&crate::Landmark) -> f32| {
                ids.iter().map(|&i| f(&stored.landmarks[i])).sum::<f32>() / n
            };
            (mean(|l| l.x) as u32, mean(|l| l.y) as u32)
        };
        let (x, y) = centre([11, 12, 23, 24]);
        let torso = crate::render::joints::limb::TORSO as u8 + 1;
        assert_eq!(parts.get_pixel(x, y)[0], torso);
        assert_eq!(parts.get_pixel(0, 0)[0], 0);
    }

    #[test]
    fn the_renderers_part_labels_are_posewarps_limbs_plus_one() {
        use crate::render::joints::limb;
        use crate::synth::part;
        let label = |l: usize| l as u8 + 1;
        assert_eq!(part::HEAD, label(limb::HEAD));
        assert_eq!(part::TORSO, label(limb::TORSO));
        for side in 0..2 {
            assert_eq!(part::UPPER_ARM[side], label(limb::UPPER_ARM[side]));
            assert_eq!(part::FOREARM[side], label(limb::FOREARM[side]));
            assert_eq!(part::THIGH[side], label(limb::THIGH[side]));
            assert_eq!(part::SHIN[side], label(limb::SHIN[side]));
        }
    }
}
