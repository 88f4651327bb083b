//! Pose estimation: BlazePose (MediaPipe 0.10.21) detector + landmark model on ONNX Runtime,
//! tracked from frame to frame as MediaPipe's pose graph does.
//!
//! Per frame: when there is no ROI from the previous frame, the detector finds the person
//! and its keypoints give the ROI; the landmark model runs on the ROI crop; if its presence
//! score clears the tracking threshold, the two auxiliary landmarks (smoothed) place the
//! next frame's ROI, so the detector runs again only after the person is lost. Output
//! landmarks are optionally smoothed with a One-Euro filter.

pub mod assets;
pub mod detector;
mod error;
pub mod landmark;
pub mod roi;
pub mod segmentation;
mod session;
pub mod smooth;
pub mod warp;

use std::path::PathBuf;
use std::time::Duration;

pub use detector::{Detection, Detector};
pub use error::PoseError;
pub use landmark::{LandmarkModel, LandmarkResult};
pub use roi::RotatedRect;
pub use segmentation::PersonMask;
pub use smooth::{LandmarkSmoother, OneEuroParams};

use crate::{RgbImage, Skeleton};

/// MediaPipe low-passes the auxiliary landmarks' visibility with this alpha.
const AUX_VISIBILITY_ALPHA: f32 = 0.1;

/// Settings of the pose stage.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseConfig {
    /// Folder with the ONNX models (None: flag-less lookup, see [`crate::pose::assets::models_dir`]).
    pub models_dir: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per model.
    pub threads: usize,
    /// Detections scoring below this are ignored (MediaPipe's min_detection_confidence).
    pub min_detection: f32,
    /// Tracking continues while the landmark model's presence exceeds this
    /// (MediaPipe's min_tracking_confidence); below it the detector runs again.
    pub min_tracking: f32,
    /// Detect in every frame, as for unrelated still images.
    pub static_images: bool,
    /// One-Euro smoothing of the output landmarks; None passes them through raw.
    pub smoothing: Option<OneEuroParams>,
}

impl Default for PoseConfig {
    /// MediaPipe's video defaults with its landmark smoothing on.
    fn default() -> Self {
        Self {
            models_dir: None,
            threads: 1,
            min_detection: 0.5,
            min_tracking: 0.5,
            static_images: false,
            smoothing: Some(OneEuroParams::MEDIAPIPE_LANDMARKS),
        }
    }
}

/// The whole pose stage: models, tracking state and smoothing.
pub struct PoseEstimator {
    detector: Detector,
    landmarks: LandmarkModel,
    config: PoseConfig,
    /// Where to look in the next frame; None means run the detector.
    next_roi: Option<RotatedRect>,
    aux_smoother: LandmarkSmoother,
    output_smoother: Option<LandmarkSmoother>,
    detector_runs: u64,
    /// Where the landmark model looked in the last frame, when a person was found.
    last_roi: Option<RotatedRect>,
}

impl PoseEstimator {
    /// Loads both models; fails with a [`PoseError`] naming what is missing.
    pub fn new(config: &PoseConfig) -> Result<Self, PoseError> {
        let dir = crate::pose::assets::models_dir(config.models_dir.as_deref());
        let detector_path = crate::pose::assets::model_file(&dir, detector::DETECTOR_FILE)?;
        let landmark_path = crate::pose::assets::model_file(&dir, landmark::LANDMARK_FILE)?;
        let tracking_path = crate::pose::assets::model_file(&dir, landmark::LANDMARK_TRACKING_FILE)
            .inspect_err(|e| {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| tracing::warn!("{e}: tracking with the full model, slower"));
            })
            .ok();
        Ok(Self {
            detector: Detector::new(&detector_path, config.threads, config.min_detection)?,
            landmarks: LandmarkModel::new(
                &landmark_path,
                tracking_path.as_deref(),
                config.threads,
            )?,
            config: config.clone(),
            next_roi: None,
            aux_smoother: LandmarkSmoother::new(OneEuroParams::MEDIAPIPE_ROI)
                .with_visibility(AUX_VISIBILITY_ALPHA),
            output_smoother: config
                .smoothing
                .map(|p| LandmarkSmoother::new(p).with_visibility(AUX_VISIBILITY_ALPHA)),
            detector_runs: 0,
            last_roi: None,
        })
    }

    /// The pose in `image`, observed at `timestamp` (which drives the smoothing filters and
    /// must increase from frame to frame). A frame without a person gives an empty skeleton.
    pub fn process(
        &mut self,
        image: &RgbImage,
        timestamp: Duration,
    ) -> Result<Skeleton, PoseError> {
        if image.width == 0 || image.height == 0 {
            return Err(PoseError::EmptyImage {
                width: image.width,
                height: image.height,
            });
        }
        let roi = match self.next_roi.take().filter(|_| !self.config.static_images) {
            Some(roi) => roi,
            None => {
                self.detector_runs += 1;
                match self.detector.detect(image)?.first() {
                    Some(d) => d.roi(image.width, image.height),
                    None => return Ok(self.lost()),
                }
            }
        };
        let result = self.landmarks.run(image, &roi)?;
        if result.presence <= self.config.min_tracking {
            return Ok(self.lost());
        }
        self.next_roi = Some(self.track(&result, timestamp));
        self.last_roi = Some(roi);
        let mut landmarks = result.landmarks;
        if let Some(smoother) = &mut self.output_smoother {
            let [c, s] = result.aux;
            let scale = roi::alignment_box_size([c.x, c.y], [s.x, s.y]);
            smoother.apply(&mut landmarks, scale, timestamp);
        }
        Ok(Skeleton { landmarks })
    }

    /// Forgets the tracked person, as at a cut in the video.
    pub fn reset(&mut self) {
        self.lost();
    }

    /// How often the detector has run (tracking keeps this far below the frame count).
    pub fn detector_runs(&self) -> u64 {
        self.detector_runs
    }

    /// Where the landmark model looked in the last frame processed, when it found a person:
    /// running it there again gives the same landmarks and segmentation
    /// ([`Self::person_mask_at`]).
    pub fn last_roi(&self) -> Option<RotatedRect> {
        self.last_roi
    }

    /// The segmentation of `roi` in `image`, as [`Self::process`] would have found it there.
    /// For a second pass over a video that keeps only each frame's ROI from the first: a
    /// mask per frame is 64 KB.
    pub fn person_mask_at(
        &mut self,
        image: &RgbImage,
        roi: &RotatedRect,
    ) -> Result<Option<PersonMask>, PoseError> {
        Ok(self.landmarks.run_segmented(image, roi)?.mask)
    }

    /// Mutable access to the two models, for benchmarks that time them separately.
    pub fn models(&mut self) -> (&mut Detector, &mut LandmarkModel) {
        (&mut self.detector, &mut self.landmarks)
    }

    /// The next ROI from the smoothed auxiliary landmarks; the object scale for the filter
    /// comes from the raw ones, as in MediaPipe.
    fn track(&mut self, result: &LandmarkResult, timestamp: Duration) -> RotatedRect {
        let mut aux = result.aux;
        let scale = roi::alignment_box_size([aux[0].x, aux[0].y], [aux[1].x, aux[1].y]);
        self.aux_smoother.apply(&mut aux, scale, timestamp);
        RotatedRect::from_alignment([aux[0].x, aux[0].y], [aux[1].x, aux[1].y])
    }

    fn lost(&mut self) -> Skeleton {
        self.next_roi = None;
        self.last_roi = None;
        self.aux_smoother.reset();
        if let Some(s) = &mut self.output_smoother {
            s.reset();
        }
        Skeleton::none()
    }
}
