//! Global pose normalization (Everybody Dance Now, Chan et al. 2019, section 3.4): the
//! driving person's skeleton is scaled and translated into the target's frame, so a tall
//! dancer far from the camera drives a short target standing close to it.
//!
//! Each video is summarized by where its person's ankles go (the farthest and closest
//! positions, i.e. the smallest and largest ankle y) and how tall the person looks at those
//! two depths. A driving frame whose ankles are at `y` is placed at the same relative depth in
//! the target's range, and scaled by the height ratio interpolated at that depth. Horizontal
//! placement maps the driving video's median body centre onto the target's.

use serde::{Deserialize, Serialize};

use crate::base::skeleton::idx;
use crate::Skeleton;

/// Frames whose ankle y lies within this fraction of the ankle range from an end count as
/// "at" that end when the height there is measured.
const END_BAND: f32 = 0.15;
/// Below this ankle range (as a fraction of height) a video has one depth, not two.
const DEPTH_MIN_FRACTION: f32 = 0.05;

/// What normalization needs to know about one video's person, in that video's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Ankle y when the person is farthest from the camera (highest in the image).
    pub ankle_far: f32,
    /// Ankle y when closest (lowest in the image).
    pub ankle_close: f32,
    /// Apparent height (ankles to nose, vertically) at the far and close positions.
    pub height_far: f32,
    pub height_close: f32,
    /// Median horizontal body centre (mid-hip x).
    pub center_x: f32,
}

/// Why statistics could not be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NormError {
    #[error("no frame has a person whose ankles and nose are visible")]
    NoUsableFrame,
}

/// The measurements of one skeleton: ankle y, height, body centre x.
pub fn measure(s: &Skeleton) -> Option<(f32, f32, f32)> {
    if !s.found() {
        return None;
    }
    let lm = &s.landmarks;
    let needed = [
        idx::LEFT_ANKLE,
        idx::RIGHT_ANKLE,
        idx::NOSE,
        idx::LEFT_HIP,
        idx::RIGHT_HIP,
    ];
    if needed.iter().any(|&i| !lm[i].is_visible()) {
        return None;
    }
    let ankle = (lm[idx::LEFT_ANKLE].y + lm[idx::RIGHT_ANKLE].y) / 2.0;
    let height = ankle - lm[idx::NOSE].y;
    let center = (lm[idx::LEFT_HIP].x + lm[idx::RIGHT_HIP].x) / 2.0;
    (height > 0.0).then_some((ankle, height, center))
}

impl NormStats {
    /// Fits the statistics of a whole video's skeletons.
    pub fn fit<'a>(skeletons: impl IntoIterator<Item = &'a Skeleton>) -> Result<Self, NormError> {
        let m: Vec<_> = skeletons.into_iter().filter_map(measure).collect();
        Self::fit_measurements(&m)
    }

    /// Fits the statistics from [`measure`]ments (a live stream keeps a window of these,
    /// three numbers a frame, and refits as it goes). Robust to a few bad poses: the ends of
    /// the ankle range are its 2nd and 98th percentiles, and the height at each end the
    /// 90th percentile of the heights measured near it (inside the range), so one
    /// misdetection stretches neither the range nor the scale.
    pub fn fit_measurements(m: &[(f32, f32, f32)]) -> Result<Self, NormError> {
        if m.is_empty() {
            return Err(NormError::NoUsableFrame);
        }
        let ankles: Vec<f32> = m.iter().map(|&(y, _, _)| y).collect();
        let (far, close) = (percentile(&ankles, 0.02), percentile(&ankles, 0.98));
        let band = (close - far) * END_BAND;
        // The tallest pose near each end: crouches and bends only make people look shorter.
        let tallest = |near: &dyn Fn(f32) -> bool| {
            let heights: Vec<f32> = m
                .iter()
                .filter(|(y, _, _)| (far..=close).contains(y) && near(*y))
                .map(|&(_, h, _)| h)
                .collect();
            percentile(&heights, 0.9)
        };
        let (mut height_far, mut height_close) = (
            tallest(&|y| y <= far + band),
            tallest(&|y| y >= close - band),
        );
        // A person who stays at one depth (ankle range within 5% of their height) gives two
        // bands that are the same frames: use their tallest pose for both ends.
        let tallest_all = tallest(&|_| true);
        if close - far < DEPTH_MIN_FRACTION * tallest_all {
            (height_far, height_close) = (tallest_all, tallest_all);
        }
        let centers: Vec<f32> = m.iter().map(|&(_, _, c)| c).collect();
        Ok(Self {
            ankle_far: far,
            ankle_close: close,
            height_far,
            height_close,
            center_x: percentile(&centers, 0.5),
        })
    }
}

/// The `q`-quantile (nearest rank) of `values`; 0 for none.
fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = (q * (sorted.len() - 1) as f32).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Maps driving skeletons into the target's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseNormalizer {
    pub source: NormStats,
    pub target: NormStats,
}

impl PoseNormalizer {
    pub fn new(source: NormStats, target: NormStats) -> Self {
        Self { source, target }
    }

    /// Where between far (0) and close (1) the source's ankles at `y` are.
    fn depth(&self, y: f32) -> f32 {
        let range = self.source.ankle_close - self.source.ankle_far;
        if range.abs() < 1e-3 {
            0.5
        } else {
            (y - self.source.ankle_far) / range
        }
    }

    /// Scale and the target ankle y for a source frame with ankles at `y`.
    pub fn scale_and_anchor(&self, y: f32) -> (f32, f32) {
        let (s, t) = (&self.source, &self.target);
        let d = self.depth(y);
        let ratio_far = t.height_far / s.height_far;
        let ratio_close = t.height_close / s.height_close;
        let scale = ratio_far + d * (ratio_close - ratio_far);
        let anchor = t.ankle_far + d * (t.ankle_close - t.ankle_far);
        (scale, anchor)
    }

    /// The skeleton in the target's frame; frames without a usable ankle pass unchanged
    /// in shape but are scaled at the mid depth.
    pub fn apply(&self, skeleton: &Skeleton) -> Skeleton {
        if !skeleton.found() {
            return skeleton.clone();
        }
        let lm = &skeleton.landmarks;
        let ankle = (lm[idx::LEFT_ANKLE].y + lm[idx::RIGHT_ANKLE].y) / 2.0;
        let (scale, anchor) = self.scale_and_anchor(ankle);
        let mut out = skeleton.clone();
        for p in &mut out.landmarks {
            p.x = self.target.center_x + (p.x - self.source.center_x) * scale;
            p.y = anchor + (p.y - ankle) * scale;
            p.z *= scale;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    /// A standing figure of `height` px whose ankles are at (`x`, `ankle`).
    fn figure(x: f32, ankle: f32, height: f32) -> Skeleton {
        let points: [[f32; 2]; NUM_LANDMARKS] = std::array::from_fn(|i| {
            // Spread points over the body: fraction of height by landmark index.
            let f = 1.0 - i as f32 / (NUM_LANDMARKS - 1) as f32;
            [x + (i % 3) as f32 * 0.05 * height, ankle - f * height]
        });
        let mut s = Skeleton::from_points(&points);
        let lm = &mut s.landmarks;
        lm[idx::NOSE].y = ankle - height;
        lm[idx::LEFT_ANKLE].y = ankle;
        lm[idx::RIGHT_ANKLE].y = ankle;
        lm[idx::LEFT_HIP].x = x - 0.05 * height;
        lm[idx::RIGHT_HIP].x = x + 0.05 * height;
        s
    }

    /// A video: the person walks from far (small, high) to close (large, low).
    fn video(x: f32, far: f32, close: f32, h_far: f32, h_close: f32) -> Vec<Skeleton> {
        (0..=20)
            .map(|i| {
                let d = i as f32 / 20.0;
                figure(x, far + d * (close - far), h_far + d * (h_close - h_far))
            })
            .collect()
    }

    #[test]
    fn fit_finds_depth_range_heights_and_centre() {
        let stats = NormStats::fit(&video(300.0, 400.0, 500.0, 200.0, 260.0)).unwrap();
        assert_eq!((stats.ankle_far, stats.ankle_close), (400.0, 500.0));
        assert!(
            (stats.height_far - 209.0).abs() < 1e-3,
            "{}",
            stats.height_far
        );
        assert!((stats.height_close - 260.0).abs() < 1e-3);
        assert!((stats.center_x - 300.0).abs() < 1e-3);
        assert_eq!(
            NormStats::fit(&[Skeleton::none()]),
            Err(NormError::NoUsableFrame)
        );
    }

    #[test]
    fn known_scale_and_offset_are_undone() {
        // The driving video is the target's, scaled by 0.5 and moved by (-120, +40).
        let target = video(640.0, 300.0, 420.0, 250.0, 330.0);
        let (k, dx, dy) = (0.5f32, -120.0f32, 40.0f32);
        let source: Vec<Skeleton> = target
            .iter()
            .map(|s| {
                let mut s = s.clone();
                for p in &mut s.landmarks {
                    (p.x, p.y) = (p.x * k + dx, p.y * k + dy);
                }
                s
            })
            .collect();
        let norm = PoseNormalizer::new(
            NormStats::fit(&source).unwrap(),
            NormStats::fit(&target).unwrap(),
        );
        for (s, t) in source.iter().zip(&target) {
            let mapped = norm.apply(s);
            for (m, e) in mapped.landmarks.iter().zip(&t.landmarks) {
                assert!(
                    (m.x - e.x).abs() < 1e-2 && (m.y - e.y).abs() < 1e-2,
                    "{m:?} vs {e:?}"
                );
            }
        }
    }

    #[test]
    fn depth_is_interpolated_between_the_ends() {
        let source = NormStats {
            ankle_far: 100.0,
            ankle_close: 200.0,
            height_far: 100.0,
            height_close: 200.0,
            center_x: 0.0,
        };
        let target = NormStats {
            ankle_far: 300.0,
            ankle_close: 400.0,
            height_far: 100.0,
            height_close: 100.0,
            center_x: 0.0,
        };
        let norm = PoseNormalizer::new(source, target);
        assert_eq!(norm.scale_and_anchor(100.0), (1.0, 300.0));
        assert_eq!(norm.scale_and_anchor(200.0), (0.5, 400.0));
        assert_eq!(norm.scale_and_anchor(150.0), (0.75, 350.0));
    }

    #[test]
    fn one_bad_pose_does_not_stretch_the_fit() {
        // A person walking between ankle y 400 and 500, and one misdetection that puts the
        // ankles at y 900 with a giant's height: min/max statistics would double the range
        // and the close height for the rest of the session.
        let good: Vec<Skeleton> = (0..100)
            .map(|i| {
                let d = i as f32 / 99.0;
                figure(300.0, 400.0 + 100.0 * d, 200.0 + 60.0 * d)
            })
            .collect();
        let clean = NormStats::fit(&good).unwrap();
        let mut noisy = good.clone();
        noisy.push(figure(300.0, 900.0, 700.0));
        let fit = NormStats::fit(&noisy).unwrap();
        println!("{clean:?}\n{fit:?}");
        assert!((fit.ankle_close - clean.ankle_close).abs() < 5.0, "{fit:?}");
        assert!(
            (fit.height_close - clean.height_close).abs() < 5.0,
            "{fit:?}"
        );
        assert!((fit.ankle_far - clean.ankle_far).abs() < 5.0, "{fit:?}");
    }
}
