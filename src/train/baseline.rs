//! What needs no learning, for the benchmark to measure learning against.
//!
//! - [`nearest_shot`], the baseline every generator must beat: copy the one of the K frames
//!   whose pose is nearest to the pose asked for. On a still camera it keeps the room and
//!   the person's look exactly; a generator that scores below it has learned less than a
//!   lookup.
//! - [`part_warp`], Posewarp with its networks taken out: the nearest shot cut into the
//!   ten limbs' soft masks, each moved by its similarity transform into the pose asked
//!   for, over a background plate made from the shots. What a learned Posewarp adds is
//!   measured against this.

use tch::{Device, Kind, Tensor};

pub use crate::model::examples::{nearest_shots, pose_distance};
use crate::model::plate::background_plate;
use crate::model::posewarp::{layer_prior, limb_grids};
use crate::model::Examples;
use crate::render::joints::{joints, limb_masks, Joints, NUM_LIMBS};
use crate::Skeleton;

/// The copied frames (N, 3, S, S) for the poses `wanted`, from `shots`.
pub fn nearest_shot(shots: &Examples, wanted: &[Skeleton]) -> Tensor {
    let picks: Vec<i64> = nearest_shots(&shots.skeletons, wanted)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    shots.select(&picks).frames
}

/// The part warp's frames (N, 3, S, S) in -1..1 for the poses `wanted`, from `shots`: the
/// limbs cut as Posewarp's prior cuts them ([`layer_prior`]: by the shots' segmentation
/// where they have one), moved, and laid over the shots' plate.
pub fn part_warp(shots: &Examples, wanted: &[Skeleton]) -> Tensor {
    let size = shots.size();
    let device = shots.frames.device();
    let shot_joints: Vec<Joints> = shots.skeletons.iter().map(joints).collect();
    let limbs: Vec<Tensor> = shot_joints
        .iter()
        .map(|j| masks_tensor(j, size, device))
        .collect();
    let prior = layer_prior(&Tensor::stack(&limbs, 0), shots.masks.as_ref());
    let cut = prior.narrow(1, 0, NUM_LIMBS as i64);
    let person = shots
        .masks
        .as_ref()
        .map_or_else(|| cut.amax([1i64].as_slice(), true), Tensor::shallow_clone);
    let plate = background_plate(&shots.frames, &person);
    let picks = nearest_shots(&shots.skeletons, wanted);
    let frames: Vec<Tensor> = wanted
        .iter()
        .zip(picks)
        .map(|(w, i)| {
            let i = i as i64;
            let layers = Tensor::cat(
                &[
                    shots
                        .frames
                        .get(i)
                        .unsqueeze(0)
                        .expand([NUM_LIMBS as i64, 3, -1, -1], false),
                    cut.get(i).unsqueeze(1),
                ],
                1,
            );
            let moved = move_limbs(&layers, &shot_joints[i as usize], &joints(w), size);
            let (colour, weight) = (moved.narrow(1, 0, 3), moved.narrow(1, 3, 1));
            let total = weight.sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
            let alpha = total.clamp_max(1.0);
            let person = (&colour * &weight).sum_dim_intlist([0i64].as_slice(), false, Kind::Float)
                / total.clamp_min(1e-6);
            &plate * (1.0 - &alpha) + person * alpha
        })
        .collect();
    Tensor::stack(&frames, 0)
}

/// The limb masks of `joints` as a (NUM_LIMBS, S, S) tensor.
fn masks_tensor(joints: &Joints, size: u32, device: Device) -> Tensor {
    let s = size as i64;
    Tensor::from_slice(&limb_masks(joints, size))
        .view([NUM_LIMBS as i64, s, s])
        .to_device(device)
}

/// Each limb's layer of `layers` (NUM_LIMBS, C, S, S) moved from pose `from` into pose `to`:
/// every pixel of the result is sampled where its limb was in `from`; a limb with a joint
/// missing in either pose comes out empty.
fn move_limbs(layers: &Tensor, from: &Joints, to: &Joints, size: u32) -> Tensor {
    let grid = limb_grids(from, to, size, layers.device());
    layers.grid_sampler(&grid, 0, 0, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    fn at(dx: f32) -> Skeleton {
        let points: [[f32; 2]; NUM_LANDMARKS] =
            std::array::from_fn(|i| [10.0 + i as f32 + dx, 5.0 + i as f32]);
        Skeleton::from_points(&points)
    }

    #[test]
    fn the_nearest_pose_is_copied() {
        let shots = [at(0.0), at(10.0), at(20.0)];
        let wanted = [at(18.0), at(1.0), at(9.0), Skeleton::none()];
        assert_eq!(nearest_shots(&shots, &wanted), vec![2, 0, 1, 0]);
        assert_eq!(pose_distance(&at(0.0), &at(3.0)), Some(3.0));
        assert_eq!(pose_distance(&at(0.0), &Skeleton::none()), None);
    }

    #[test]
    fn the_part_warp_moves_the_person_and_keeps_the_room() {
        use crate::model::InputFormat;
        use crate::synth::SyntheticPerson;
        // A synthetic person: two shots, and a wanted pose from later in the dance.
        let person = SyntheticPerson::random(5);
        let frames: Vec<_> = [0.0, 1.3]
            .iter()
            .map(|&t| person.render(t, 128, 128))
            .collect();
        let shots = Examples::new(InputFormat::PartMaps18, &frames).unwrap();
        let (truth, pose) = person.render(2.2, 128, 128);
        let warped = part_warp(&shots, std::slice::from_ref(&pose));
        assert_eq!(warped.size(), [1, 3, 128, 128]);
        let truth = Examples::new(InputFormat::PartMaps18, &[(truth, pose.clone())]).unwrap();
        let copied = nearest_shot(&shots, &[pose]);
        let error = |t: &Tensor| {
            (t - &truth.frames)
                .abs()
                .mean(Kind::Float)
                .double_value(&[])
        };
        println!(
            "L1 against the truth: part warp {:.4}, nearest shot {:.4}",
            error(&warped),
            error(&copied)
        );
        // Moving the limbs into the pose beats copying a frame of another pose.
        assert!(
            error(&warped) < error(&copied),
            "{} vs {}",
            error(&warped),
            error(&copied)
        );
    }
}
