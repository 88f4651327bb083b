//! `metapix prepare TARGET --out DIR`: a video or a folder of images of one person becomes
//! what personalization reads: square frames cropped the same way throughout around the
//! person, their skeletons in crop pixels, and the person's normalization statistics.
//!
//! Layout: `DIR/frames/NNNNNN.png`, `DIR/masks/NNNNNN.png` (where the person is, from the
//! pose model's segmentation; grey levels are probabilities), `DIR/poses.jsonl` (the
//! pose-file format, crop pixels) and `DIR/target.json` ([`TargetInfo`]). Pose maps are drawn from the skeletons when
//! needed, so the format they are drawn in always matches the code.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::JobError;
use crate::base::posefile::{PoseRecord, PoseWriter};
use crate::jobs::progress::Progress;
use crate::pose::{PersonMask, PoseConfig, PoseEstimator, RotatedRect};
use crate::render::normalize::NormStats;
use crate::render::{crop_resampled, PanelFit};
use crate::stream::{open_input, InputSpec};
use crate::{RgbImage, Skeleton};

/// Margin around the person's extent, as a fraction of its larger side.
const MARGIN: f32 = 0.15;

/// What `target.json` says about a prepared target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    pub source: String,
    /// Side of the square frames.
    pub size: u32,
    pub frames: usize,
    pub frames_with_person: usize,
    /// The crop in source pixels: centre and side.
    pub crop: [f32; 3],
    pub normalization: NormStats,
    /// Whether `masks/` holds each frame's person mask (targets prepared before masks
    /// existed have none).
    #[serde(default)]
    pub masks: bool,
    /// Whether `parts/` holds each frame's body-part labels (synthetic people only: see
    /// [`crate::synth::SyntheticPerson::parts`]).
    #[serde(default)]
    pub parts: bool,
}

impl TargetInfo {
    pub fn read(dir: &Path) -> Result<Self, JobError> {
        let path = dir.join("target.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            JobError::InvalidArgument(format!(
                "{} is not a prepared target (run metapix prepare): {e}",
                dir.display()
            ))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| JobError::InvalidArgument(format!("{}: {e}", path.display())))
    }

    pub fn frame_path(dir: &Path, index: usize) -> PathBuf {
        dir.join("frames").join(format!("{index:06}.png"))
    }

    pub fn mask_path(dir: &Path, index: usize) -> PathBuf {
        dir.join("masks").join(format!("{index:06}.png"))
    }

    pub fn parts_path(dir: &Path, index: usize) -> PathBuf {
        dir.join("parts").join(format!("{index:06}.png"))
    }
}

/// A validated prepare job.
#[derive(Debug, Clone)]
pub struct PrepareJob {
    pub target: PathBuf,
    pub out: PathBuf,
    pub size: u32,
    pub pose: PoseConfig,
}

/// Where the target's frames come from.
enum Frames {
    Video(InputSpec),
    Images(Vec<PathBuf>),
}

impl PrepareJob {
    pub fn new(target: &Path, out: &Path, size: u32, pose: PoseConfig) -> Result<Self, JobError> {
        super::check_training_size(size)?;
        if !target.exists() {
            return Err(JobError::InvalidArgument(format!(
                "target not found: {}",
                target.display()
            )));
        }
        std::fs::create_dir_all(out.join("frames")).map_err(JobError::write(out))?;
        Ok(Self {
            target: target.to_path_buf(),
            out: out.to_path_buf(),
            size,
            pose,
        })
    }

    fn frames(&self) -> Result<Frames, JobError> {
        if super::pose::is_image(&self.target) {
            return Ok(Frames::Images(vec![self.target.clone()]));
        }
        if !self.target.is_dir() {
            return Ok(Frames::Video(InputSpec::parse(
                &self.target.to_string_lossy(),
            )?));
        }
        let mut images: Vec<PathBuf> = std::fs::read_dir(&self.target)
            .map_err(|e| JobError::InvalidArgument(format!("{}: {e}", self.target.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| super::pose::is_image(p))
            .collect();
        images.sort();
        if images.is_empty() {
            return Err(JobError::InvalidArgument(format!(
                "{} holds no .png or .jpg images",
                self.target.display()
            )));
        }
        Ok(Frames::Images(images))
    }

    /// Runs `each` on every frame of the target, in order, and returns how many there
    /// were. A stop (Ctrl-C) is an error here: half a pass must not pass for a whole one.
    fn for_each_frame(
        &self,
        frames: &Frames,
        stop: &Arc<AtomicBool>,
        each: &mut dyn FnMut(usize, &RgbImage, Duration) -> Result<(), JobError>,
    ) -> Result<usize, JobError> {
        let mut count = 0;
        match frames {
            Frames::Video(spec) => {
                let mut source = open_input(spec, stop.clone())?.into_source();
                while let Some(frame) = source.next_frame()? {
                    let t = frame
                        .pts
                        .unwrap_or(Duration::from_millis(33) * count as u32);
                    each(count, &frame.image, t)?;
                    count += 1;
                }
            }
            Frames::Images(paths) => {
                for (i, path) in paths.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let image = RgbImage::open(path).map_err(|e| JobError::Image {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                    each(i, &image, Duration::ZERO)?;
                    count += 1;
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Err(JobError::Interrupted(format!(
                "{} is unfinished (it has no target.json); run metapix prepare again",
                self.out.display()
            )));
        }
        Ok(count)
    }

    /// Two passes: poses first (to place the crop), then the cropped frames. `target.json`,
    /// which marks the target finished, is written last, and only when both passes saw
    /// every frame.
    pub fn run(
        &self,
        stop: Arc<AtomicBool>,
        progress: &mut Progress,
    ) -> Result<TargetInfo, JobError> {
        let frames = self.frames()?;
        let still = matches!(frames, Frames::Images(_));
        let config = PoseConfig {
            static_images: still,
            ..self.pose.clone()
        };
        let mut estimator = PoseEstimator::new(&config)?;
        let mut skeletons: Vec<(Skeleton, Duration)> = Vec::new();
        // Each frame's ROI, not its mask: the second pass runs the landmark model there again.
        let mut rois: Vec<Option<RotatedRect>> = Vec::new();
        progress.set_total(None);
        self.for_each_frame(&frames, &stop, &mut |_, image, t| {
            skeletons.push((estimator.process(image, t)?, t));
            rois.push(estimator.last_roi());
            progress.update(skeletons.len() as u64);
            Ok(())
        })?;
        progress.finish(skeletons.len() as u64);
        let source = self.target.display().to_string();
        let writer =
            TargetWriter::new(&self.out, self.size, &skeletons, None, &source)?.with_masks()?;
        let written = self.for_each_frame(&frames, &stop, &mut |i, image, _| {
            if i >= skeletons.len() {
                return Ok(()); // counted below
            }
            writer.write_frame(i, image)?;
            let mask = match &rois[i] {
                Some(roi) => estimator.person_mask_at(image, roi)?,
                None => None,
            };
            writer.write_mask(i, mask.as_ref())
        })?;
        if written != skeletons.len() {
            return Err(JobError::InvalidArgument(format!(
                "{source} gave {} frames on the first reading and {written} on the second; \
                 {} is unfinished",
                skeletons.len(),
                self.out.display()
            )));
        }
        writer.finish()
    }
}

/// Writes a prepared target: the crop is placed from every frame's skeleton first, then the
/// frames are cropped the same way one by one. `metapix prepare` feeds it estimated
/// skeletons; `metapix synth --prepared` the exact ones.
pub struct TargetWriter {
    out: PathBuf,
    info: TargetInfo,
    fit: PanelFit,
    poses: PoseWriter,
}

impl TargetWriter {
    /// Places the crop (`crop`: centre x, centre y and side in source pixels, or `None` for
    /// a square around the person in every frame), fits the normalization statistics and
    /// writes the skeletons (crop pixels); `skeletons` holds every frame's, with its time.
    pub fn new(
        out: &Path,
        size: u32,
        skeletons: &[(Skeleton, Duration)],
        crop: Option<[f32; 3]>,
        source: &str,
    ) -> Result<Self, JobError> {
        std::fs::create_dir_all(out.join("frames")).map_err(JobError::write(out))?;
        let crop = crop
            .or_else(|| crop_around(skeletons.iter().map(|(s, _)| s)))
            .ok_or_else(|| JobError::InvalidArgument(format!("no person was found in {source}")))?;
        let fit = PanelFit::crop(crop[0], crop[1], crop[2], size);
        let cropped: Vec<Skeleton> = skeletons.iter().map(|(s, _)| fit.skeleton(s)).collect();
        let normalization = NormStats::fit(&cropped)
            .map_err(|e| JobError::InvalidArgument(format!("{source}: {e}")))?;
        let poses_path = out.join("poses.jsonl");
        let mut poses = PoseWriter::create(&poses_path).map_err(JobError::write(&poses_path))?;
        for (i, ((_, t), s)) in skeletons.iter().zip(&cropped).enumerate() {
            poses
                .write(&PoseRecord::new(i as u64, *t, s))
                .map_err(JobError::write(&poses_path))?;
        }
        let info = TargetInfo {
            source: source.to_string(),
            size,
            frames: skeletons.len(),
            frames_with_person: cropped.iter().filter(|s| s.found()).count(),
            crop,
            normalization,
            masks: false,
            parts: false,
        };
        Ok(Self {
            out: out.to_path_buf(),
            info,
            fit,
            poses,
        })
    }

    /// Crops frame `index` (source pixels) and saves it.
    pub fn write_frame(&self, index: usize, image: &RgbImage) -> Result<(), JobError> {
        let path = TargetInfo::frame_path(&self.out, index);
        crop_resampled(image, &self.fit)
            .save_png(&path)
            .map_err(|e| JobError::Write {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })
    }

    /// Each frame will have a person mask ([`Self::write_mask`]).
    pub fn with_masks(mut self) -> Result<Self, JobError> {
        let dir = self.out.join("masks");
        std::fs::create_dir_all(&dir).map_err(JobError::write(&dir))?;
        self.info.masks = true;
        Ok(self)
    }

    /// Saves frame `index`'s person mask (`mask` in source pixels; None: nobody), cropped
    /// as its frame is.
    pub fn write_mask(&self, index: usize, mask: Option<&PersonMask>) -> Result<(), JobError> {
        self.write_mask_with(index, |x, y| mask.map_or(0.0, |m| m.at(x, y)))
    }

    /// Saves frame `index`'s person mask, `person(x, y)` (0..1) at each source point.
    pub fn write_mask_with(
        &self,
        index: usize,
        person: impl Fn(f32, f32) -> f32,
    ) -> Result<(), JobError> {
        let path = TargetInfo::mask_path(&self.out, index);
        self.write_plane(&path, |x, y| (person(x, y) * 255.0).round() as u8)
    }

    /// Each frame will have body-part labels ([`Self::write_parts_with`]).
    pub fn with_parts(mut self) -> Result<Self, JobError> {
        let dir = self.out.join("parts");
        std::fs::create_dir_all(&dir).map_err(JobError::write(&dir))?;
        self.info.parts = true;
        Ok(self)
    }

    /// Saves frame `index`'s body-part labels, `label(x, y)` at each source point (the
    /// nearest: labels do not blend).
    pub fn write_parts_with(
        &self,
        index: usize,
        label: impl Fn(f32, f32) -> u8,
    ) -> Result<(), JobError> {
        self.write_plane(&TargetInfo::parts_path(&self.out, index), label)
    }

    /// A grey PNG at `path` of the frame's size: each pixel `value` at the source point
    /// under its centre.
    fn write_plane(&self, path: &Path, value: impl Fn(f32, f32) -> u8) -> Result<(), JobError> {
        let fit = &self.fit;
        let image = image::GrayImage::from_fn(fit.size, fit.size, |x, y| {
            let sx = (x as f32 + 0.5 - fit.offset_x) / fit.scale;
            let sy = (y as f32 + 0.5 - fit.offset_y) / fit.scale;
            image::Luma([value(sx, sy)])
        });
        image.save(path).map_err(|e| JobError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Writes `target.json` last, so a folder without it is known to be unfinished.
    pub fn finish(self) -> Result<TargetInfo, JobError> {
        let poses_path = self.out.join("poses.jsonl");
        self.poses.finish().map_err(JobError::write(&poses_path))?;
        let json = serde_json::to_vec_pretty(&self.info).expect("target info serializes");
        let info_path = self.out.join("target.json");
        crate::base::fsutil::write_atomic(&info_path, &json)
            .map_err(JobError::write(&info_path))?;
        Ok(self.info)
    }
}

/// A square around every visible landmark of every frame, with a margin: centre x, centre y, side.
pub fn crop_around<'a>(skeletons: impl IntoIterator<Item = &'a Skeleton>) -> Option<[f32; 3]> {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for lm in skeletons
        .into_iter()
        .flat_map(|s| &s.landmarks)
        .filter(|l| l.is_visible())
    {
        b = [
            b[0].min(lm.x),
            b[1].min(lm.y),
            b[2].max(lm.x),
            b[3].max(lm.y),
        ];
    }
    if b[0] > b[2] {
        return None;
    }
    let side = (b[2] - b[0]).max(b[3] - b[1]) * (1.0 + 2.0 * MARGIN);
    Some([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, side.max(16.0)])
}
