//! Pose fidelity, issue 4's fifth metric: does the generated person strike the driving pose?
//! Our pose estimator looks at each generated frame, and PCK@0.1 counts the joints it
//! finds within a tenth of the driving person's size of where the driving skeleton has them.

use crate::base::skeleton::{Landmark, Skeleton};

/// The joints counted: nose, shoulders, elbows, wrists, hips, knees and ankles (the 13 of
/// the usual 2-D pose benchmarks), as BlazePose numbers them.
const JOINTS: [usize; 13] = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28];

/// The threshold as a share of the person's size.
pub const ALPHA: f32 = 0.1;

/// The share of the driving skeleton's visible joints that `found` puts within `alpha` times
/// the longer side of the driving joints' bounding box. A frame where nobody was found
/// scores 0; None when the driving skeleton shows none of the joints.
pub fn pck(found: &Skeleton, driving: &Skeleton, alpha: f32) -> Option<f64> {
    if !driving.found() {
        return None;
    }
    let visible: Vec<&Landmark> = JOINTS
        .iter()
        .map(|&j| &driving.landmarks[j])
        .filter(|l| l.is_visible())
        .collect();
    if visible.is_empty() {
        return None;
    }
    if !found.found() {
        return Some(0.0);
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for l in &visible {
        (x0, x1, y0, y1) = (x0.min(l.x), x1.max(l.x), y0.min(l.y), y1.max(l.y));
    }
    let threshold = alpha * (x1 - x0).max(y1 - y0);
    let hits = JOINTS
        .iter()
        .filter(|&&j| driving.landmarks[j].is_visible())
        .filter(|&&j| found.landmarks[j].distance(&driving.landmarks[j]) <= threshold)
        .count();
    Some(hits as f64 / visible.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    /// A standing figure whose counted joints span 100 px (nose at y 0, ankles at y 100).
    fn figure(dx: f32) -> Skeleton {
        let mut points = [[0.0f32; 2]; NUM_LANDMARKS];
        for (i, p) in points.iter_mut().enumerate() {
            *p = [50.0 + dx + (i % 3) as f32 * 10.0, i as f32 * 100.0 / 28.0];
        }
        Skeleton::from_points(&points)
    }

    #[test]
    fn joints_count_within_a_tenth_of_the_person() {
        let driving = figure(0.0);
        assert_eq!(pck(&driving, &driving, ALPHA), Some(1.0));
        // 9 px off is inside 10% of the 100 px figure, 11 px is not.
        assert_eq!(pck(&figure(9.0), &driving, ALPHA), Some(1.0));
        assert_eq!(pck(&figure(11.0), &driving, ALPHA), Some(0.0));
        // Two wrists astray: 11 of 13.
        let mut two_off = driving.clone();
        two_off.landmarks[15].x += 30.0;
        two_off.landmarks[16].y += 30.0;
        let score = pck(&two_off, &driving, ALPHA).unwrap();
        assert!((score - 11.0 / 13.0).abs() < 1e-9);
        // Nobody found in the generated frame: every joint is missed.
        assert_eq!(pck(&Skeleton::none(), &driving, ALPHA), Some(0.0));
        // Nothing to compare with: no score.
        assert_eq!(pck(&driving, &Skeleton::none(), ALPHA), None);
        // Joints the driving skeleton does not show are not counted.
        let mut hidden = driving.clone();
        hidden.landmarks[15].visibility = 0.0;
        assert_eq!(
            pck(&two_off, &hidden, ALPHA).map(|s| (s * 12.0).round()),
            Some(11.0)
        );
    }
}
