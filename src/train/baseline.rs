//! The baseline every generator must beat: copy the one of the K frames whose pose is
//! nearest to the pose asked for. It needs no training, and on a still camera it keeps the
//! room and the person's look exactly; a generator that scores below it has learned less
//! than a lookup.

use tch::Tensor;

use crate::model::Examples;
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
}
