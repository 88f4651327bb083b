//! Prepared targets opened for training and evaluation: the frames with a person, split in
//! time by the MetaPix protocol (first 85% the personalization pool, last 15% the test).

use std::path::{Path, PathBuf};

use tch::Tensor;

use super::prepare::TargetInfo;
use super::JobError;
use crate::base::posefile::{self, PoseRecord};
use crate::model::posewarp::LAYERS;
use crate::model::{ArchConfig, Examples, InputFormat};
use crate::train::data;
use crate::{RgbImage, Skeleton};

/// One prepared target (`metapix prepare` or `metapix synth --prepared`).
pub struct PreparedTarget {
    pub dir: PathBuf,
    pub info: TargetInfo,
    records: Vec<PoseRecord>,
    /// Indices of the frames with the person, in time order: the protocol counts these.
    pub usable: Vec<usize>,
}

impl PreparedTarget {
    pub fn open(dir: &Path) -> Result<Self, JobError> {
        let info = TargetInfo::read(dir)?;
        let poses_path = dir.join("poses.jsonl");
        let records = posefile::read(&poses_path)
            .map_err(|e| JobError::InvalidArgument(format!("{}: {e}", poses_path.display())))?;
        let usable = (0..records.len()).filter(|&i| records[i].found).collect();
        Ok(Self {
            dir: dir.to_path_buf(),
            info,
            records,
            usable,
        })
    }

    /// The protocol's K frames (evenly spaced in the pool, after its first 100).
    pub fn protocol_shots(&self, k: usize) -> Vec<usize> {
        data::choose_shots(self.usable.len(), k)
            .iter()
            .map(|&i| self.usable[i])
            .collect()
    }

    /// Every frame of the personalization pool (the first 85%).
    pub fn pool(&self) -> Vec<usize> {
        let test_start = data::held_out(self.usable.len()).start;
        self.usable[..test_start].to_vec()
    }

    /// Up to `max` frames with the person, spread over all of them (a target scored whole).
    pub fn spread(&self, max: usize) -> Vec<usize> {
        data::spread(&self.usable, max)
    }

    /// Up to `max` held-out test frames, spread over the last 15%.
    pub fn test_frames(&self, max: usize) -> Vec<usize> {
        data::spread(&self.usable[data::held_out(self.usable.len())], max)
    }

    /// The skeleton of frame `index` (in the prepared frame's pixels).
    pub fn skeleton(&self, index: usize) -> crate::Skeleton {
        self.records[index].skeleton()
    }

    /// Frames `indices` with their skeletons (frame pixels).
    pub fn frames(&self, indices: &[usize]) -> Result<Vec<(RgbImage, Skeleton)>, JobError> {
        let size = self.info.size;
        indices
            .iter()
            .map(|&i| {
                let path = TargetInfo::frame_path(&self.dir, i);
                let image = RgbImage::open(&path).map_err(|e| JobError::Image {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                if image.width != size || image.height != size {
                    return Err(JobError::InvalidArgument(format!(
                        "{} is not {size}x{size}",
                        path.display()
                    )));
                }
                Ok((image, self.records[i].skeleton()))
            })
            .collect()
    }

    /// Frames `indices` as examples for a generator reading `input`, on the CPU, with their
    /// person masks and part labels where the target has them and the input moves pixels.
    pub fn examples(&self, indices: &[usize], input: InputFormat) -> Result<Examples, JobError> {
        let mut examples = Examples::new(input, &self.frames(indices)?)?;
        if input != InputFormat::JointMaps24 {
            return Ok(examples);
        }
        if self.info.masks {
            let masks = self.planes(indices, TargetInfo::mask_path)?;
            examples = examples.with_masks(masks.to_kind(tch::Kind::Float) / 255.0);
        }
        if self.info.parts {
            // Stored as the limb's index plus one, 0 for none: the room is the layer after
            // the limbs.
            let stored = self.planes(indices, TargetInfo::parts_path)?;
            let labels = (stored.to_kind(tch::Kind::Int64) - 1).remainder(LAYERS);
            examples = examples.with_parts(labels.to_kind(tch::Kind::Uint8));
        }
        Ok(examples)
    }

    /// The grey PNGs at `path(dir, i)` of frames `indices`: (N, 1, S, S) u8.
    fn planes(
        &self,
        indices: &[usize],
        path: fn(&Path, usize) -> PathBuf,
    ) -> Result<Tensor, JobError> {
        let size = self.info.size;
        let planes = indices
            .iter()
            .map(|&i| {
                let path = path(&self.dir, i);
                let plane = image::open(&path)
                    .map_err(|e| JobError::Image {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?
                    .into_luma8();
                if plane.dimensions() != (size, size) {
                    return Err(JobError::InvalidArgument(format!(
                        "{} is not {size}x{size}",
                        path.display()
                    )));
                }
                let s = i64::from(size);
                Ok(Tensor::from_slice(plane.as_raw()).view([1, s, s]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tensor::stack(&planes, 0))
    }

    /// Refuses a target whose frames `arch` cannot take, saying how to prepare one it can.
    pub fn check_fits(&self, arch: &ArchConfig) -> Result<(), JobError> {
        arch.check_size(self.info.size).map(|_| ()).map_err(|e| {
            JobError::InvalidArgument(format!(
                "{}: its frames are {e}; prepare it again with another --size",
                self.dir.display()
            ))
        })
    }
}

/// The prepared targets named on a command line: each path is one, or a folder of them
/// (such as `metapix synth --prepared` writes), taken in name order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, JobError> {
    let mut found = Vec::new();
    for path in paths {
        if path.join("target.json").is_file() {
            found.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| {
            JobError::InvalidArgument(format!("{}: not a prepared target ({e})", path.display()))
        })?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("target.json").is_file())
            .collect();
        if inside.is_empty() {
            return Err(JobError::InvalidArgument(format!(
                "{} is not a prepared target and holds none",
                path.display()
            )));
        }
        inside.sort();
        found.extend(inside);
    }
    Ok(found)
}
