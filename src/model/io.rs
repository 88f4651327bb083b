//! Tensors in and out of the generators: frames as (3, H, W) tensors in -1..1, and pose maps
//! as (C, S, S) tensors in 0..1. Inference and training both use these.

use tch::{Kind, Tensor};

use super::InputFormat;
use crate::render::joints::{joint_heatmaps, joints, limb_masks, NUM_JOINTS, NUM_LIMBS};
use crate::render::{PoseMapRenderer, NUM_PARTS};
use crate::{RgbImage, Skeleton};

/// Draws skeletons as a generator of some [`InputFormat`] reads them, reusing its scratch
/// buffers from pose to pose.
pub struct PoseEncoder {
    input: InputFormat,
    size: u32,
    renderer: PoseMapRenderer,
}

impl PoseEncoder {
    /// An encoder for poses in square frames of `size` pixels (at least 1).
    pub fn new(input: InputFormat, size: u32) -> Self {
        Self {
            input,
            size,
            renderer: PoseMapRenderer::new(size),
        }
    }

    /// `skeleton` (frame pixels) as a (C, S, S) tensor; nobody gives zeros.
    pub fn encode(&mut self, skeleton: &Skeleton) -> Tensor {
        match self.input {
            InputFormat::PartMaps18 => pose_tensor(&mut self.renderer, skeleton),
            InputFormat::JointMaps24 => joint_tensor(skeleton, self.size),
        }
    }
}

/// An RGB frame as a (3, H, W) tensor in -1..1.
pub fn image_tensor(image: &RgbImage) -> Tensor {
    let (h, w) = (image.height as i64, image.width as i64);
    Tensor::from_slice(&image.data)
        .view([h, w, 3])
        .permute([2, 0, 1])
        .to_kind(Kind::Float)
        / 127.5
        - 1.0
}

/// A (3, H, W) tensor in -1..1 back to an RGB frame.
pub fn tensor_image(t: &Tensor) -> RgbImage {
    bytes_image(&image_bytes(t))
}

/// A (3, H, W) tensor in -1..1 as an RGB frame's (H, W, 3) bytes, on the tensor's device: on
/// CUDA the stream's graph ends with this, so a quarter of f32's bytes come back to the host.
pub fn image_bytes(t: &Tensor) -> Tensor {
    ((t.detach().to_kind(Kind::Float) + 1.0) * 127.5)
        .clamp(0.0, 255.0)
        .round()
        .to_kind(Kind::Uint8)
        .permute([1, 2, 0])
        .contiguous()
}

/// [`image_bytes`]' (H, W, 3) bytes, on any device, as a frame.
pub fn bytes_image(bytes: &Tensor) -> RgbImage {
    let (h, w) = (bytes.size()[0], bytes.size()[1]);
    let data = Vec::<u8>::try_from(bytes.to_device(tch::Device::Cpu).flatten(0, -1))
        .expect("u8 tensor converts");
    RgbImage::from_raw(w as u32, h as u32, data)
}

/// The pose map of a skeleton (in panel pixels) as a (C, S, S) tensor.
fn pose_tensor(renderer: &mut PoseMapRenderer, skeleton: &Skeleton) -> Tensor {
    let map = renderer.render(skeleton);
    let s = map.size as i64;
    Tensor::from_slice(&map.data).view([NUM_PARTS as i64, s, s])
}

/// Standard deviation of a joint's heatmap in a 256 px frame (Posewarp's).
const JOINT_SIGMA_256: f32 = 7.0;

/// A skeleton's 14 joint heatmaps and 10 limb masks, as a (24, S, S) tensor.
fn joint_tensor(skeleton: &Skeleton, size: u32) -> Tensor {
    let joints = joints(skeleton);
    let sigma = JOINT_SIGMA_256 * size as f32 / 256.0;
    let mut data = joint_heatmaps(&joints, size, 1, sigma);
    data.extend(limb_masks(&joints, size));
    let s = size as i64;
    Tensor::from_slice(&data).view([(NUM_JOINTS + NUM_LIMBS) as i64, s, s])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip_through_tensors() {
        let img = RgbImage::from_raw(2, 1, vec![0, 128, 255, 10, 20, 30]);
        let t = image_tensor(&img);
        assert_eq!(t.size(), [3, 1, 2]);
        assert_eq!(tensor_image(&t), img);
    }
}
