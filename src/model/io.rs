//! Tensors in and out of the generators: frames as (3, H, W) tensors in -1..1, and pose maps
//! as (C, S, S) tensors in 0..1. Inference and training both use these.

use tch::{Kind, Tensor};

use super::InputFormat;
use crate::render::joints::{
    joint_heatmaps, joints, limb_masks, map_gaussians, NUM_JOINTS, NUM_LIMBS,
};
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
/// A batch (N, 3, H, W) gives (N, H, W, 3).
pub fn image_bytes(t: &Tensor) -> Tensor {
    ((t.detach().to_kind(Kind::Float) + 1.0) * 127.5)
        .clamp(0.0, 255.0)
        .round()
        .to_kind(Kind::Uint8)
        .movedim([-3i64].as_slice(), [-1i64].as_slice())
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
    let mut data = joint_heatmaps(&joints, size, 1, joint_sigma(size));
    data.extend(limb_masks(&joints, size));
    let s = size as i64;
    Tensor::from_slice(&data).view([(NUM_JOINTS + NUM_LIMBS) as i64, s, s])
}

fn joint_sigma(size: u32) -> f32 {
    JOINT_SIGMA_256 * size as f32 / 256.0
}

/// What [`draw_joint_maps`] draws `skeleton`'s joint maps in a `size` px frame from: a
/// (24, 8) tensor of [`map_gaussians`]' rows, on the CPU.
pub fn joint_gaussians(skeleton: &Skeleton, size: u32) -> Tensor {
    let rows = map_gaussians(&joints(skeleton), size, joint_sigma(size));
    Tensor::from_slice(&rows).view([(NUM_JOINTS + NUM_LIMBS) as i64, 8])
}

/// The (24, S, S) joint maps [`PoseEncoder`] draws on the CPU, drawn from their
/// [`joint_gaussians`] `rows` on the rows' device in f32: on a GPU, a stream uploads 768
/// bytes per frame instead of 6 MB of maps, and its CUDA graph draws them.
pub fn draw_joint_maps(rows: &Tensor, size: i64) -> Tensor {
    let centres = Tensor::arange(size, (Kind::Float, rows.device())) + 0.5;
    let column = |i: i64| rows.narrow(1, i, 1).view([-1, 1, 1]);
    let (x, y) = (centres.view([1, 1, size]), centres.view([1, size, 1]));
    let (rx, ry) = (x - column(0), y - column(1));
    let (ux, uy) = (column(2), column(3));
    let along = &rx * &ux + &ry * &uy;
    let across = &ry * &ux - &rx * &uy;
    let e = along.square() * column(4) + across.square() * column(5);
    let inside = e.lt_tensor(&column(6)).to_kind(Kind::Float) * column(7);
    (-e).exp() * inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_maps_drawn_from_their_gaussians_are_the_cpu_drawn_ones() {
        let person = crate::synth::SyntheticPerson::random(5);
        let (_, posed) = person.render(0.3, 96, 96);
        let mut missing = posed.clone();
        // A wrist gone: its heatmap and the forearm's mask are zeros in both.
        missing.landmarks[crate::base::skeleton::idx::LEFT_WRIST].visibility = 0.0;
        for skeleton in [posed, missing, Skeleton::default()] {
            let mut encoder = PoseEncoder::new(InputFormat::JointMaps24, 96);
            let on_cpu = encoder.encode(&skeleton);
            let drawn = draw_joint_maps(&joint_gaussians(&skeleton, 96), 96);
            assert_eq!(drawn.size(), on_cpu.size());
            // Values are exponentials of at most 1 computed in f32 in another order: a few
            // ulps of 1 apart (the cut at e = 16 drops values under 1.2e-7).
            let gap = (&drawn - &on_cpu).abs().max().double_value(&[]);
            let lit = on_cpu.sum(Kind::Float).double_value(&[]);
            println!("max gap {gap:.2e}, {lit:.0} lit");
            assert!(gap < 1e-6, "max gap {gap}");
        }
    }

    #[test]
    fn images_round_trip_through_tensors() {
        let img = RgbImage::from_raw(2, 1, vec![0, 128, 255, 10, 20, 30]);
        let t = image_tensor(&img);
        assert_eq!(t.size(), [3, 1, 2]);
        assert_eq!(tensor_image(&t), img);
    }
}
