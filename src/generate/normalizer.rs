//! Fitting the driving person's statistics while a stream runs: the normalization
//! ([`crate::render::normalize`]) needs them for the driving video, which a live input only
//! reveals frame by frame. A window of the latest measurements bounds memory and the cost
//! of each refit however long the stream runs, and the fit itself shrugs off a few bad
//! poses.

use std::collections::VecDeque;

use crate::render::normalize::{measure, NormStats, PoseNormalizer};
use crate::render::PanelFit;
use crate::Skeleton;

/// Measurements kept: at 30 fps about a minute of usable frames, enough to have seen the
/// person near and far; three f32 each.
pub const WINDOW: usize = 2000;
/// Refit after every usable frame until this many, then every this many.
const REFIT_EVERY: usize = 30;

/// The driving statistics of a live stream and the target's they map onto.
#[derive(Debug, Clone)]
pub struct LiveNormalizer {
    target: Option<NormStats>,
    /// Panel side of the generator.
    size: u32,
    window: VecDeque<(f32, f32, f32)>,
    seen: usize,
    source: Option<NormStats>,
}

impl LiveNormalizer {
    /// Maps onto `target` (a checkpoint's statistics; None fits frames into the panel).
    pub fn new(target: Option<NormStats>, size: u32) -> Self {
        Self {
            target,
            size,
            window: VecDeque::with_capacity(WINDOW),
            seen: 0,
            source: None,
        }
    }

    /// `skeleton` (driving-frame pixels, in a `width` x `height` frame) in the target's
    /// frame. Until a driving frame has shown ankles and nose (or without target
    /// statistics) the driving frame is only fitted into the generator's square.
    pub fn apply(&mut self, skeleton: &Skeleton, (width, height): (u32, u32)) -> Skeleton {
        if let Some(m) = measure(skeleton) {
            if self.window.len() == WINDOW {
                self.window.pop_front();
            }
            self.window.push_back(m);
            self.seen += 1;
            if self.seen <= REFIT_EVERY || self.seen % REFIT_EVERY == 0 {
                let (a, b) = self.window.as_slices();
                self.source = NormStats::fit_measurements(&[a, b].concat()).ok();
            }
        }
        match (self.source, self.target) {
            (Some(source), Some(target)) => PoseNormalizer::new(source, target).apply(skeleton),
            _ => PanelFit::new(width, height, self.size).skeleton(skeleton),
        }
    }

    /// Measurements held now (at most [`WINDOW`]).
    pub fn held(&self) -> usize {
        self.window.len()
    }

    /// The driving statistics last fitted.
    pub fn source(&self) -> Option<NormStats> {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::{idx, NUM_LANDMARKS};

    fn standing(ankle: f32, height: f32) -> Skeleton {
        let mut s = Skeleton::from_points(&[[300.0, ankle - height / 2.0]; NUM_LANDMARKS]);
        let lm = &mut s.landmarks;
        lm[idx::NOSE].y = ankle - height;
        lm[idx::LEFT_ANKLE].y = ankle;
        lm[idx::RIGHT_ANKLE].y = ankle;
        s
    }

    #[test]
    fn a_long_stream_keeps_a_bounded_window_and_a_bad_pose_does_not_stick() {
        let target = NormStats {
            ankle_far: 200.0,
            ankle_close: 240.0,
            height_far: 150.0,
            height_close: 180.0,
            center_x: 128.0,
        };
        let mut n = LiveNormalizer::new(Some(target), 256);
        // A long stream of a person walking between y 400 and 500, with one misdetection
        // (ankles at y 1400, 1200 px tall) inside the last window.
        for i in 0..20_000u32 {
            let d = (i % 200) as f32 / 199.0;
            n.apply(&standing(400.0 + 100.0 * d, 200.0 + 60.0 * d), (1280, 720));
            if i == 19_500 {
                n.apply(&standing(1400.0, 1200.0), (1280, 720));
            }
        }
        assert_eq!(n.held(), WINDOW);
        let fit = n.source().unwrap();
        assert!((fit.ankle_close - 500.0).abs() < 3.0, "{fit:?}");
        assert!((fit.height_close - 260.0).abs() < 3.0, "{fit:?}");
        // The driving person's closest pose lands on the target's closest.
        let mapped = n.apply(&standing(500.0, 260.0), (1280, 720));
        let ankle = mapped.landmarks[idx::LEFT_ANKLE].y;
        assert!((ankle - 240.0).abs() < 2.0, "{ankle}");
    }

    #[test]
    fn without_target_statistics_frames_are_fitted_into_the_panel() {
        let mut n = LiveNormalizer::new(None, 256);
        let mapped = n.apply(&standing(720.0, 400.0), (1280, 720));
        // 1280 wide into 256: scale 0.2, centred vertically (offset 56).
        let ankle = mapped.landmarks[idx::LEFT_ANKLE].y;
        assert!((ankle - (720.0 * 0.2 + 56.0)).abs() < 1e-3, "{ankle}");
    }
}
