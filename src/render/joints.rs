//! The body as Posewarp reads it (Balakrishnan et al., "Synthesizing Images of Humans in
//! Unseen Poses", CVPR 2018, as MetaPix used it): 14 MPII-style joints taken from BlazePose's
//! 33 landmarks, Gaussian joint heatmaps, and ten rigid limbs, each with a soft mask around
//! it and a similarity transform that carries it from one pose to another.
//!
//! Joint order (MPII-style, the person's own left and right): head, neck, right shoulder,
//! elbow, wrist, left shoulder, elbow, wrist, right hip, knee, ankle, left hip, knee, ankle.
//! From BlazePose: the head is the nose (0), where MPII has the top of the head, which
//! BlazePose lacks; the neck the midpoint of the shoulders (11, 12); the rest are
//! BlazePose's own joints of those names.

use crate::base::skeleton::idx;
use crate::Skeleton;

pub const NUM_JOINTS: usize = 14;
pub const NUM_LIMBS: usize = 10;

/// Each MPII-style joint as the BlazePose landmarks it is the mean of.
const FROM_BLAZEPOSE: [&[usize]; NUM_JOINTS] = [
    &[idx::NOSE],
    &[idx::LEFT_SHOULDER, idx::RIGHT_SHOULDER],
    &[idx::RIGHT_SHOULDER],
    &[idx::RIGHT_ELBOW],
    &[idx::RIGHT_WRIST],
    &[idx::LEFT_SHOULDER],
    &[idx::LEFT_ELBOW],
    &[idx::LEFT_WRIST],
    &[idx::RIGHT_HIP],
    &[idx::RIGHT_KNEE],
    &[idx::RIGHT_ANKLE],
    &[idx::LEFT_HIP],
    &[idx::LEFT_KNEE],
    &[idx::LEFT_ANKLE],
];

/// The limbs, as the joints they join: head and neck, the four segments of each arm and
/// leg, and the torso (both shoulders and hips).
pub const LIMBS: [&[usize]; NUM_LIMBS] = [
    &[0, 1],
    &[2, 3],
    &[3, 4],
    &[5, 6],
    &[6, 7],
    &[8, 9],
    &[9, 10],
    &[11, 12],
    &[12, 13],
    &[2, 5, 8, 11],
];

/// Indices into [`LIMBS`] by name; paired limbs as `[left, right]`, the person's own sides.
pub mod limb {
    pub const HEAD: usize = 0;
    pub const UPPER_ARM: [usize; 2] = [3, 1];
    pub const FOREARM: [usize; 2] = [4, 2];
    pub const THIGH: [usize; 2] = [7, 5];
    pub const SHIN: [usize; 2] = [8, 6];
    pub const TORSO: usize = 9;
}

/// Width (standard deviation across the limb, in pixels of a 256 px frame) of each limb's
/// mask: the torso is wider.
const LIMB_WIDTH_256: [f32; NUM_LIMBS] =
    [11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 13.0];

/// The 14 joints of `skeleton` (its pixels), None where a landmark is not visible.
pub type Joints = [Option<[f32; 2]>; NUM_JOINTS];

/// The MPII-style joints of a BlazePose skeleton: each the mean of its BlazePose landmarks.
pub fn joints(skeleton: &Skeleton) -> Joints {
    std::array::from_fn(|j| {
        let parts = FROM_BLAZEPOSE[j];
        let lms: Vec<_> = parts
            .iter()
            .filter_map(|&i| skeleton.landmarks.get(i))
            .filter(|l| l.is_visible())
            .collect();
        (skeleton.found() && lms.len() == parts.len()).then(|| {
            let n = lms.len() as f32;
            [
                lms.iter().map(|l| l.x).sum::<f32>() / n,
                lms.iter().map(|l| l.y).sum::<f32>() / n,
            ]
        })
    })
}

/// A limb's joints, or None when one of them is missing.
fn limb_points(joints: &Joints, limb: usize) -> Option<Vec<[f32; 2]>> {
    LIMBS[limb].iter().map(|&j| joints[j]).collect()
}

/// The two ends of a limb: its joints, or for the torso the middle of the shoulders and of
/// the hips.
fn limb_axis(points: &[[f32; 2]]) -> ([f32; 2], [f32; 2]) {
    let mid = |a: [f32; 2], b: [f32; 2]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    match points {
        [a, b] => (*a, *b),
        [a, b, c, d] => (mid(*a, *b), mid(*c, *d)),
        _ => (points[0], points[points.len() - 1]),
    }
}

/// One channel of the joint maps as a Gaussian over pixel centres `(x + 0.5, y + 0.5)`:
/// `exp(-e)` with `e = along^2 * a_along + across^2 * a_across`, along and across taken from
/// `centre` on the unit axis `axis`, and 0 where `e >= cutoff`. The CPU draws from these
/// ([`joint_heatmaps`], [`limb_masks`]), and the GPU from their rows ([`map_gaussians`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    pub centre: [f32; 2],
    pub axis: [f32; 2],
    pub a_along: f32,
    pub a_across: f32,
    pub cutoff: f32,
}

impl Gaussian {
    /// As 8 numbers: centre, axis, the two coefficients, the cutoff and 1 (drawn).
    pub fn to_row(self) -> [f32; 8] {
        let [cx, cy] = self.centre;
        let [ux, uy] = self.axis;
        [
            cx,
            cy,
            ux,
            uy,
            self.a_along,
            self.a_across,
            self.cutoff,
            1.0,
        ]
    }
}

/// The elongated Gaussian of `limb` of `joints` in a `size` px frame (peak 1, as long as
/// the limb, [`LIMB_WIDTH_256`] across), or None when one of its joints is missing.
fn limb_gaussian(joints: &Joints, limb: usize, size: u32) -> Option<Gaussian> {
    let (p, q) = limb_axis(&limb_points(joints, limb)?);
    let scale = size as f32 / 256.0;
    let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
    let length = dx.hypot(dy).max(1e-3);
    // Along the limb: as long as it is (variance length^2 / 1.5, at least 5 px^2).
    let var_along = (length * length / 1.5).max(5.0 * scale * scale);
    let width = LIMB_WIDTH_256[limb] * scale;
    Some(Gaussian {
        centre: [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0],
        axis: [dx / length, dy / length],
        a_along: 1.0 / (2.0 * var_along),
        a_across: 1.0 / (2.0 * width * width),
        // Beyond e = 16 the mask is under 1.2e-7: left at zero, which spares the
        // exponential at most pixels (the encoding is on every driving frame's path).
        cutoff: 16.0,
    })
}

/// The round Gaussian of `joint` of `joints` (standard deviation `sigma` px, no cutoff), or
/// None when it is missing.
fn joint_gaussian(joints: &Joints, joint: usize, sigma: f32) -> Option<Gaussian> {
    let a = 1.0 / (2.0 * sigma * sigma);
    joints[joint].map(|centre| Gaussian {
        centre,
        axis: [1.0, 0.0],
        a_along: a,
        a_across: a,
        cutoff: f32::INFINITY,
    })
}

/// The joint maps' channels (`NUM_JOINTS` heatmaps of standard deviation `sigma` px, then
/// `NUM_LIMBS` limb masks) of a `size` px frame as rows of [`Gaussian::to_row`], all zeros
/// (not drawn) for a missing joint or limb: what the GPU draws the maps from, 768 bytes
/// where the maps of a 256 px frame are 6 MB.
pub fn map_gaussians(joints: &Joints, size: u32, sigma: f32) -> Vec<f32> {
    let heatmaps = (0..NUM_JOINTS).map(|j| joint_gaussian(joints, j, sigma));
    let limbs = (0..NUM_LIMBS).map(|l| limb_gaussian(joints, l, size));
    heatmaps
        .chain(limbs)
        .flat_map(|g| g.map_or([0.0; 8], Gaussian::to_row))
        .collect()
}

/// Soft masks of the limbs of `joints` in a `size` x `size` frame, limb-major
/// (`NUM_LIMBS` x size x size, 0..1): an elongated Gaussian along each limb, its peak 1;
/// all zeros for a limb with a missing joint.
pub fn limb_masks(joints: &Joints, size: u32) -> Vec<f32> {
    let n = (size * size) as usize;
    let mut out = vec![0.0f32; NUM_LIMBS * n];
    for (limb, mask) in out.chunks_exact_mut(n).enumerate() {
        let Some(g) = limb_gaussian(joints, limb, size) else {
            continue;
        };
        let ([cx, cy], [ux, uy]) = (g.centre, g.axis);
        for y in 0..size {
            for x in 0..size {
                let (rx, ry) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                let along = rx * ux + ry * uy;
                let across = -rx * uy + ry * ux;
                let e = along * along * g.a_along + across * across * g.a_across;
                if e < g.cutoff {
                    mask[(y * size + x) as usize] = (-e).exp();
                }
            }
        }
    }
    out
}

/// Gaussian heatmaps of the joints at `1 / downsample` of a `size` px frame, joint-major
/// (`NUM_JOINTS` x s x s with s = size / downsample), peak 1, standard deviation `sigma` in
/// heatmap pixels; zeros for a missing joint.
pub fn joint_heatmaps(joints: &Joints, size: u32, downsample: u32, sigma: f32) -> Vec<f32> {
    let s = size / downsample.max(1);
    let n = (s * s) as usize;
    let mut out = vec![0.0f32; NUM_JOINTS * n];
    let scaled: Joints =
        joints.map(|j| j.map(|[x, y]| [x / downsample as f32, y / downsample as f32]));
    for (joint, map) in out.chunks_exact_mut(n).enumerate() {
        let Some(g) = joint_gaussian(&scaled, joint, sigma) else {
            continue;
        };
        // The Gaussian is separable: one exponential per row and per column, not per pixel.
        let profile = |c: f32| -> Vec<f32> {
            (0..s)
                .map(|i| {
                    let d = i as f32 + 0.5 - c;
                    (-(d * d) * g.a_along).exp()
                })
                .collect()
        };
        let (across, down) = (profile(g.centre[0]), profile(g.centre[1]));
        for (row, gy) in map.chunks_exact_mut(s as usize).zip(&down) {
            for (pixel, gx) in row.iter_mut().zip(&across) {
                *pixel = gx * gy;
            }
        }
    }
    out
}

/// The similarity transform (scale, rotation, translation) that carries a limb's points in
/// pose `to` onto the same points in pose `from`, least squares, as `[a, b, tx, ty]` for
/// `u = a x - b y + tx`, `v = b x + a y + ty`. Used to fill a pixel of the `to` frame from
/// where that part of the body was in the `from` frame. None when a joint is missing in
/// either pose.
pub fn limb_transform(from: &Joints, to: &Joints, limb: usize) -> Option<[f32; 4]> {
    let (src, dst) = (limb_points(from, limb)?, limb_points(to, limb)?);
    let n = src.len() as f32;
    let mean = |ps: &[[f32; 2]]| {
        [
            ps.iter().map(|p| p[0]).sum::<f32>() / n,
            ps.iter().map(|p| p[1]).sum::<f32>() / n,
        ]
    };
    let (ms, md) = (mean(&src), mean(&dst));
    let (mut dot, mut cross, mut norm) = (0.0f32, 0.0f32, 0.0f32);
    for (s, d) in src.iter().zip(&dst) {
        let (px, py) = (d[0] - md[0], d[1] - md[1]);
        let (qx, qy) = (s[0] - ms[0], s[1] - ms[1]);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    // A limb shrunk to a point in `to` (seen end-on) keeps its size and moves with it.
    let (a, b) = if norm > 1e-6 {
        (dot / norm, cross / norm)
    } else {
        (1.0, 0.0)
    };
    let tx = ms[0] - (a * md[0] - b * md[1]);
    let ty = ms[1] - (b * md[0] + a * md[1]);
    Some([a, b, tx, ty])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    /// A standing figure: every landmark visible, at a scale `s` and offset `(ox, oy)`.
    fn figure(s: f32, ox: f32, oy: f32) -> Skeleton {
        let mut points = [[0.0f32; 2]; NUM_LANDMARKS];
        let place = |p: &mut [[f32; 2]; NUM_LANDMARKS], i: usize, x: f32, y: f32| {
            p[i] = [ox + x * s, oy + y * s];
        };
        for (i, x, y) in [
            (idx::NOSE, 0.0, 0.0),
            (idx::LEFT_SHOULDER, 2.0, 2.0),
            (idx::RIGHT_SHOULDER, -2.0, 2.0),
            (idx::LEFT_ELBOW, 3.0, 5.0),
            (idx::RIGHT_ELBOW, -3.0, 5.0),
            (idx::LEFT_WRIST, 3.5, 8.0),
            (idx::RIGHT_WRIST, -3.5, 8.0),
            (idx::LEFT_HIP, 1.5, 9.0),
            (idx::RIGHT_HIP, -1.5, 9.0),
            (idx::LEFT_KNEE, 1.5, 13.0),
            (idx::RIGHT_KNEE, -1.5, 13.0),
            (idx::LEFT_ANKLE, 1.5, 17.0),
            (idx::RIGHT_ANKLE, -1.5, 17.0),
        ] {
            place(&mut points, i, x, y);
        }
        Skeleton::from_points(&points)
    }

    #[test]
    fn joints_follow_blazepose_and_go_missing_with_it() {
        let s = figure(10.0, 100.0, 20.0);
        let j = joints(&s);
        assert_eq!(j[0], Some([100.0, 20.0])); // head: the nose
        assert_eq!(j[1], Some([100.0, 40.0])); // neck: between the shoulders
        assert_eq!(j[2], Some([80.0, 40.0])); // right shoulder: BlazePose's right
        assert_eq!(j[13], Some([115.0, 190.0])); // left ankle
        let mut hidden = s.clone();
        hidden.landmarks[idx::LEFT_SHOULDER].visibility = 0.1;
        let j = joints(&hidden);
        assert!(j[1].is_none() && j[5].is_none() && j[2].is_some());
        assert!(joints(&Skeleton::none()).iter().all(Option::is_none));
    }

    #[test]
    fn a_limb_transform_carries_the_limb_back_to_where_it_was() {
        // The same figure moved, scaled and rotated 30 degrees: every limb's transform maps
        // its joints in the new pose onto the old ones.
        let from = joints(&figure(10.0, 100.0, 20.0));
        let (c, s) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
        let to: Joints = from
            .map(|p| p.map(|[x, y]| [0.8 * (c * x - s * y) + 12.0, 0.8 * (s * x + c * y) - 7.0]));
        for (limb, joints_of_limb) in LIMBS.iter().enumerate() {
            let [a, b, tx, ty] = limb_transform(&from, &to, limb).unwrap();
            for &j in *joints_of_limb {
                let ([x, y], [u, v]) = (to[j].unwrap(), from[j].unwrap());
                let (mu, mv) = (a * x - b * y + tx, b * x + a * y + ty);
                assert!(
                    (mu - u).abs() < 1e-2 && (mv - v).abs() < 1e-2,
                    "limb {limb}"
                );
            }
        }
        let mut gone = to;
        gone[3] = None;
        assert!(limb_transform(&from, &gone, 1).is_none());
    }

    #[test]
    fn masks_and_heatmaps_peak_on_their_limbs_and_joints() {
        let j = joints(&figure(10.0, 128.0, 40.0));
        let size = 256;
        let masks = limb_masks(&j, size);
        let n = (size * size) as usize;
        // Right forearm (limb 2) between the right elbow (98, 90) and wrist (93, 120).
        let at = |limb: usize, x: u32, y: u32| masks[limb * n + (y * size + x) as usize];
        assert!(at(2, 95, 105) > 0.9);
        assert!(
            at(2, 160, 105) < 0.01,
            "the right forearm's mask on the left"
        );
        let maps = joint_heatmaps(&j, size, 2, 7.0 / 4.0);
        let s = size / 2;
        // Head (128, 40) at half size: (64, 20).
        let h =
            |joint: usize, x: u32, y: u32| maps[joint * (s * s) as usize + (y * s + x) as usize];
        assert!(h(0, 64, 20) > 0.8 && h(0, 64, 30) < 0.01);
    }
}
