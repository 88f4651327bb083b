//! A person's frames as a generator learns from them: the frames, their skeletons, and each
//! skeleton's pose encoded once in the architecture's [`InputFormat`]. Personalization draws
//! its batches from these ([`super::Generator::batch`]); an architecture that moves a source
//! frame's pixels takes its sources from them too.

use tch::{Device, Tensor};

use super::io::{image_tensor, PoseEncoder};
use super::{Condition, InputFormat};
use crate::{RgbImage, Skeleton};

/// Frames of one person (or of several, for joint training).
#[derive(Debug)]
pub struct Examples {
    /// (N, 3, S, S) in -1..1.
    pub frames: Tensor,
    /// (N, C, S, S): each frame's pose in the input format.
    pub poses: Tensor,
    pub skeletons: Vec<crate::Skeleton>,
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
        Ok(Self {
            frames: Tensor::stack(&images, 0),
            poses: Tensor::stack(&poses, 0),
            skeletons: frames.iter().map(|(_, s)| s.clone()).collect(),
        })
    }

    /// Several people's examples as one set (joint training).
    pub fn concat(parts: &[Examples]) -> Result<Self, ExamplesError> {
        if parts.is_empty() {
            return Err(ExamplesError::Empty);
        }
        Ok(Self {
            frames: Tensor::cat(&parts.iter().map(|p| &p.frames).collect::<Vec<_>>(), 0),
            poses: Tensor::cat(&parts.iter().map(|p| &p.poses).collect::<Vec<_>>(), 0),
            skeletons: parts.iter().flat_map(|p| p.skeletons.clone()).collect(),
        })
    }

    pub fn to_device(&self, device: Device) -> Self {
        Self {
            frames: self.frames.to_device(device),
            poses: self.poses.to_device(device),
            skeletons: self.skeletons.clone(),
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
