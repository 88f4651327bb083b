//! A person's frames as a generator learns from them: the frames, their skeletons, and each
//! skeleton's pose encoded once in the architecture's [`InputFormat`]. Personalization draws
//! its batches from these ([`super::Generator::batch`]); an architecture that moves a source
//! frame's pixels takes its sources from them too.

use tch::{Device, Tensor};

use super::io::{image_tensor, PoseEncoder};
use super::plate::background_plate;
use super::posewarp::limb_grids;
use super::{Condition, InputFormat, Source};
use crate::base::rng::SplitMix64;
use crate::render::joints::{joints, NUM_JOINTS, NUM_LIMBS};
use crate::{RgbImage, Skeleton};

/// Frames of one person (or of several, for joint training).
#[derive(Debug)]
pub struct Examples {
    /// (N, 3, S, S) in -1..1.
    pub frames: Tensor,
    /// (N, C, S, S): each frame's pose in the input format.
    pub poses: Tensor,
    pub skeletons: Vec<crate::Skeleton>,
    /// Whose frame each is: an index into `plates` (all 0 for one person).
    pub people: Vec<usize>,
    /// (P, 3, S, S): each person's room without the person, for poses encoded with limb
    /// masks ([`InputFormat::JointMaps24`]); None for other formats.
    pub plates: Option<Tensor>,
    /// (N, 1, S, S) in 0..1: where the person is in each frame, from the pose model's
    /// segmentation ([`Self::with_masks`]); None when not known.
    pub masks: Option<Tensor>,
    /// (N, 1, S, S) u8: which of Posewarp's layers each pixel belongs to (a limb's index, or
    /// the number of limbs for the room), where exactly known: synthetic people
    /// ([`Self::with_parts`]).
    pub parts: Option<Tensor>,
}

/// Why frames cannot become examples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExamplesError {
    #[error("no frames to learn from")]
    Empty,
    #[error("frames must be square and of one size: frame {index} is {width}x{height}, the first {size}x{size}")]
    Size {
        index: usize,
        width: u32,
        height: u32,
        size: u32,
    },
}

/// What a generator is trained on in one step: the condition, and the frames it should
/// produce for it.
#[derive(Debug)]
pub struct Batch {
    pub condition: Condition,
    /// (N, 3 x groups, S, S) in -1..1.
    pub real: Tensor,
}

impl Batch {
    /// The batches of a grouped model's groups, side by side on the channels.
    pub fn side_by_side(parts: Vec<Batch>) -> Batch {
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one part");
        }
        let (conditions, reals): (Vec<Condition>, Vec<Tensor>) =
            parts.into_iter().map(|b| (b.condition, b.real)).unzip();
        Batch {
            condition: Condition::side_by_side(&conditions),
            real: Tensor::cat(&reals, 1),
        }
    }
}

impl Examples {
    /// `frames` (square, all one size) with their skeletons in frame pixels, poses encoded
    /// for `input`; on the CPU.
    pub fn new(input: InputFormat, frames: &[(RgbImage, Skeleton)]) -> Result<Self, ExamplesError> {
        let size = frames.first().ok_or(ExamplesError::Empty)?.0.width;
        if let Some((index, (image, _))) = frames
            .iter()
            .enumerate()
            .find(|(_, (i, _))| i.width != size || i.height != size || size == 0)
        {
            return Err(ExamplesError::Size {
                index,
                width: image.width,
                height: image.height,
                size,
            });
        }
        let mut encoder = PoseEncoder::new(input, size);
        let poses: Vec<Tensor> = frames.iter().map(|(_, s)| encoder.encode(s)).collect();
        let images: Vec<Tensor> = frames.iter().map(|(i, _)| image_tensor(i)).collect();
        let (frames_t, poses) = (Tensor::stack(&images, 0), Tensor::stack(&poses, 0));
        let plates = (input == InputFormat::JointMaps24).then(|| {
            let person = limbs_of(&poses).amax([1i64].as_slice(), true);
            background_plate(&frames_t, &person).unsqueeze(0)
        });
        Ok(Self {
            frames: frames_t,
            poses,
            skeletons: frames.iter().map(|(_, s)| s.clone()).collect(),
            people: vec![0; frames.len()],
            plates,
            masks: None,
            parts: None,
        })
    }

    /// These frames (of one person) with their person masks `masks` (N, 1, S, S) in 0..1,
    /// which also rebuild the room's plate: the segmentation says where the person is better
    /// than the limbs' masks, which miss hair and loose clothes.
    pub fn with_masks(mut self, masks: Tensor) -> Self {
        let masks = masks.to_device(self.frames.device());
        if self.plates.is_some() {
            self.plates = Some(background_plate(&self.frames, &masks).unsqueeze(0));
        }
        self.masks = Some(masks);
        self
    }

    /// These frames with their part labels `parts` (N, 1, S, S) u8 (see [`Self::parts`]).
    pub fn with_parts(mut self, parts: Tensor) -> Self {
        self.parts = Some(parts.to_device(self.frames.device()));
        self
    }

    /// Several people's examples as one set (joint training).
    pub fn concat(parts: &[Examples]) -> Result<Self, ExamplesError> {
        if parts.is_empty() {
            return Err(ExamplesError::Empty);
        }
        let mut people = Vec::new();
        let mut first = 0;
        for part in parts {
            people.extend(part.people.iter().map(|p| p + first));
            first += part.plates.as_ref().map_or(1, |p| p.size()[0] as usize);
        }
        let plates: Option<Vec<&Tensor>> = parts.iter().map(|p| p.plates.as_ref()).collect();
        let masks: Option<Vec<&Tensor>> = parts.iter().map(|p| p.masks.as_ref()).collect();
        let labels: Option<Vec<&Tensor>> = parts.iter().map(|p| p.parts.as_ref()).collect();
        Ok(Self {
            frames: Tensor::cat(&parts.iter().map(|p| &p.frames).collect::<Vec<_>>(), 0),
            poses: Tensor::cat(&parts.iter().map(|p| &p.poses).collect::<Vec<_>>(), 0),
            skeletons: parts.iter().flat_map(|p| p.skeletons.clone()).collect(),
            people,
            plates: plates.map(|p| Tensor::cat(&p, 0)),
            masks: masks.map(|m| Tensor::cat(&m, 0)),
            parts: labels.map(|l| Tensor::cat(&l, 0)),
        })
    }

    pub fn to_device(&self, device: Device) -> Self {
        Self {
            frames: self.frames.to_device(device),
            poses: self.poses.to_device(device),
            skeletons: self.skeletons.clone(),
            people: self.people.clone(),
            plates: self.plates.as_ref().map(|p| p.to_device(device)),
            masks: self.masks.as_ref().map(|m| m.to_device(device)),
            parts: self.parts.as_ref().map(|p| p.to_device(device)),
        }
    }

    /// The examples at `indices` (repeats allowed), on the same device.
    pub fn select(&self, indices: &[i64]) -> Self {
        let index = Tensor::from_slice(indices).to_device(self.frames.device());
        Self {
            frames: self.frames.index_select(0, &index),
            poses: self.poses.index_select(0, &index),
            skeletons: indices
                .iter()
                .map(|&i| self.skeletons[i as usize].clone())
                .collect(),
            people: indices.iter().map(|&i| self.people[i as usize]).collect(),
            plates: self.plates.as_ref().map(Tensor::shallow_clone),
            masks: self.masks.as_ref().map(|m| m.index_select(0, &index)),
            parts: self.parts.as_ref().map(|p| p.index_select(0, &index)),
        }
    }

    /// For each of `targets`, another frame of the same person drawn with `rng` (the
    /// frame itself when the person has no other): the sources of training pairs.
    pub(crate) fn pair_sources(&self, targets: &[i64], rng: &mut SplitMix64) -> Vec<i64> {
        targets
            .iter()
            .map(|&t| {
                let person = self.people[t as usize];
                let others: Vec<i64> = (0..self.len() as i64)
                    .filter(|&i| i != t && self.people[i as usize] == person)
                    .collect();
                if others.is_empty() {
                    t
                } else {
                    others[rng.below(others.len())]
                }
            })
            .collect()
    }

    /// The condition that moves frames `sources` of these examples into the poses of
    /// `targets` (one source for each), on the examples' device.
    ///
    /// # Panics
    /// When the poses carry no limb masks (no plates): only [`InputFormat::JointMaps24`]
    /// examples are sources.
    pub fn moved_into(&self, sources: &[i64], targets: &Examples) -> Condition {
        let device = self.frames.device();
        let plates = self.plates.as_ref().expect("sources need limb masks");
        let picked = self.select(sources);
        let size = self.size();
        let grids: Vec<Tensor> = picked
            .skeletons
            .iter()
            .zip(&targets.skeletons)
            .map(|(from, to)| limb_grids(&joints(from), &joints(to), size, device))
            .collect();
        let owners: Vec<i64> = picked.people.iter().map(|&p| p as i64).collect();
        let owners = Tensor::from_slice(&owners).to_device(device);
        Condition {
            pose: targets.poses.shallow_clone(),
            source: Some(Source {
                image: picked.frames,
                pose: picked.poses,
                grids: Tensor::stack(&grids, 0),
                background: plates.index_select(0, &owners),
                person: picked.masks,
                parts: picked.parts,
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.skeletons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skeletons.is_empty()
    }

    /// Side of the square frames.
    pub fn size(&self) -> u32 {
        self.frames.size().last().copied().unwrap_or(0) as u32
    }
}

/// The limb masks (N, L, S, S) of poses encoded as [`InputFormat::JointMaps24`].
pub(crate) fn limbs_of(poses: &Tensor) -> Tensor {
    poses.narrow(1, NUM_JOINTS as i64, NUM_LIMBS as i64)
}

/// Mean distance between the landmarks visible in both skeletons (their frames share one
/// crop, so pixels compare); None when none is visible in both.
pub fn pose_distance(a: &Skeleton, b: &Skeleton) -> Option<f64> {
    let pairs: Vec<f64> = a
        .landmarks
        .iter()
        .zip(&b.landmarks)
        .filter(|(p, q)| p.is_visible() && q.is_visible())
        .map(|(p, q)| f64::from((p.x - q.x).hypot(p.y - q.y)))
        .collect();
    (!pairs.is_empty()).then(|| pairs.iter().sum::<f64>() / pairs.len() as f64)
}

/// For each of `wanted`, the index of the shot whose skeleton is nearest (the first shot
/// when no skeleton compares).
pub fn nearest_shots(shots: &[Skeleton], wanted: &[Skeleton]) -> Vec<usize> {
    wanted
        .iter()
        .map(|w| {
            shots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| pose_distance(s, w).map(|d| (d, i)))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(0, |(_, i)| i)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    #[test]
    fn frames_of_another_size_and_no_frames_are_refused() {
        let skeleton = Skeleton::from_points(&[[8.0, 8.0]; NUM_LANDMARKS]);
        let square = (RgbImage::filled(16, 16, [1, 2, 3]), skeleton.clone());
        let wide = (RgbImage::filled(32, 16, [1, 2, 3]), skeleton);
        let input = InputFormat::PartMaps18;
        assert_eq!(Examples::new(input, &[]).unwrap_err(), ExamplesError::Empty);
        let err = Examples::new(input, &[square.clone(), wide]).unwrap_err();
        assert!(matches!(err, ExamplesError::Size { index: 1, .. }), "{err}");
        let ok = Examples::new(input, &[square.clone(), square]).unwrap();
        assert_eq!(ok.frames.size(), [2, 3, 16, 16]);
        assert_eq!(ok.poses.size(), [2, input.channels(), 16, 16]);
        assert_eq!(ok.select(&[1, 1, 0]).len(), 3);
    }
}
