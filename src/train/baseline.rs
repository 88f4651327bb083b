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

use crate::model::Examples;
use crate::render::joints::{joints, limb_masks, limb_transform, Joints, NUM_LIMBS};
use crate::Skeleton;

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

/// The copied frames (N, 3, S, S) for the poses `wanted`, from `shots`.
pub fn nearest_shot(shots: &Examples, wanted: &[Skeleton]) -> Tensor {
    let picks: Vec<i64> = nearest_shots(&shots.skeletons, wanted)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    shots.select(&picks).frames
}

/// The part warp's frames (N, 3, S, S) in -1..1 for the poses `wanted`, from `shots`.
pub fn part_warp(shots: &Examples, wanted: &[Skeleton]) -> Tensor {
    let size = shots.size();
    let device = shots.frames.device();
    let shot_joints: Vec<Joints> = shots.skeletons.iter().map(joints).collect();
    let shot_masks: Vec<Tensor> = shot_joints
        .iter()
        .map(|j| masks_tensor(j, size, device))
        .collect();
    let plate = background_plate(&shots.frames, &shot_masks);
    let picks = nearest_shots(&shots.skeletons, wanted);
    let frames: Vec<Tensor> = wanted
        .iter()
        .zip(picks)
        .map(|(w, i)| {
            let layers = Tensor::cat(
                &[
                    shots
                        .frames
                        .get(i as i64)
                        .unsqueeze(0)
                        .expand([NUM_LIMBS as i64, 3, -1, -1], false),
                    shot_masks[i].unsqueeze(1),
                ],
                1,
            );
            let moved = move_limbs(&layers, &shot_joints[i], &joints(w), size);
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

/// The room without the person: each pixel the mean of the shots, each weighted by how far
/// that pixel is from its person ((1 - mask)^4 over its limb masks; a hard cut left
/// smears where every shot had the person); where every shot has the person, the plain
/// mean.
fn background_plate(frames: &Tensor, masks: &[Tensor]) -> Tensor {
    let person = Tensor::stack(
        &masks
            .iter()
            .map(|m| m.amax([0i64].as_slice(), true))
            .collect::<Vec<_>>(),
        0,
    );
    let weight = (-person + 1.0).pow_tensor_scalar(4.0);
    let total = weight.sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
    let masked = (frames * &weight).sum_dim_intlist([0i64].as_slice(), false, Kind::Float)
        / total.clamp_min(1e-3);
    let mean = frames.mean_dim([0i64].as_slice(), false, Kind::Float);
    let covered = total.clamp_max(1e-3) / 1e-3;
    &masked * &covered + mean * (1.0 - covered)
}

/// Each limb's layer of `layers` (NUM_LIMBS, C, S, S) moved from pose `from` into pose `to`:
/// every pixel of the result is sampled where its limb was in `from`; a limb with a joint
/// missing in either pose comes out empty.
fn move_limbs(layers: &Tensor, from: &Joints, to: &Joints, size: u32) -> Tensor {
    let s = size as i64;
    let device = layers.device();
    // Pixel centres of the result, in the frame's continuous coordinates.
    let centres = (Tensor::arange(s, (Kind::Float, device)) + 0.5).view([1, s]);
    let (xs, ys) = (
        centres.expand([s, s], false),
        centres.view([s, 1]).expand([s, s], false),
    );
    let grids: Vec<Tensor> = (0..NUM_LIMBS)
        .map(|limb| match limb_transform(from, to, limb) {
            Some([a, b, tx, ty]) => {
                let u = &xs * f64::from(a) - &ys * f64::from(b) + f64::from(tx);
                let v = &xs * f64::from(b) + &ys * f64::from(a) + f64::from(ty);
                // grid_sample's coordinates: -1 and 1 at the frame's outer edges.
                Tensor::stack(&[u / (s as f64) * 2.0 - 1.0, v / (s as f64) * 2.0 - 1.0], 2)
            }
            // Far outside: zeros padding leaves the layer empty.
            None => Tensor::full([s, s, 2], 10.0, (Kind::Float, device)),
        })
        .collect();
    let grid = Tensor::stack(&grids, 0);
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
