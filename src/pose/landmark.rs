//! The BlazePose landmark model: 39 landmarks from a rotated ROI crop, refined on the
//! heatmap, projected back into source pixels.

use std::path::{Path, PathBuf};

use ort::session::Session;

use crate::base::skeleton::{Landmark, NUM_LANDMARKS};
use crate::pose::roi::RotatedRect;
use crate::pose::segmentation::PersonMask;
use crate::pose::session;
use crate::pose::warp::{Border, Warp};
use crate::pose::PoseError;
use crate::RgbImage;

/// File name of the landmark model ("full", MediaPipe's model_complexity=1).
pub const LANDMARK_FILE: &str = "pose_landmark_full.onnx";
/// The same model with only the outputs tracking reads (landmarks, presence, heatmap), which
/// models/prepare.sh derives: ONNX Runtime runs every node whatever is asked for, and the
/// segmentation decoder it leaves out is about 40% of a frame on a CPU core.
pub const LANDMARK_TRACKING_FILE: &str = "pose_landmark_full_tracking.onnx";
/// Side of the landmark model's square input.
pub const INPUT_SIZE: usize = 256;
/// Rows of the landmark output: 33 body points, 2 auxiliary ROI points, 4 unused.
const NUM_ROWS: usize = 39;
const ROW_LEN: usize = 5;
/// The heatmap is 64x64 with one channel per output row.
const HEATMAP_SIZE: usize = 64;
/// MediaPipe's RefineLandmarksFromHeatmap: kernel 7, refine only above confidence 0.5.
const REFINE_KERNEL: usize = 7;
const REFINE_MIN_CONFIDENCE: f32 = 0.5;
/// Auxiliary landmarks that place the next frame's ROI: centre, then scale point.
pub const AUX_CENTER: usize = 33;
pub const AUX_SCALE: usize = 34;

/// What the landmark model says about one ROI, in source pixels.
#[derive(Debug, Clone)]
pub struct LandmarkResult {
    /// Probability that a person is in the ROI.
    pub presence: f32,
    /// The 33 body landmarks.
    pub landmarks: Vec<Landmark>,
    /// The two auxiliary landmarks used for tracking.
    pub aux: [Landmark; 2],
    /// Where the person is in the ROI, from [`LandmarkModel::run_segmented`].
    pub mask: Option<PersonMask>,
}

/// The landmark model with its input buffer.
pub struct LandmarkModel {
    /// What runs every frame: the tracking model, or the full one where there is none.
    session: Session,
    /// The full model's file where `session` is the tracking model, and the full model once a
    /// segmentation was asked for.
    full: Option<PathBuf>,
    segmenting: Option<Session>,
    threads: usize,
    warp: Warp,
    input: Vec<f32>,
}

impl LandmarkModel {
    /// `full` is [`LANDMARK_FILE`]; `tracking` its [`LANDMARK_TRACKING_FILE`], which runs every
    /// frame where given.
    pub fn new(full: &Path, tracking: Option<&Path>, threads: usize) -> Result<Self, PoseError> {
        let warp = Warp::new(INPUT_SIZE, Border::Replicate, [0.0, 1.0]);
        Ok(Self {
            session: session::open(tracking.unwrap_or(full), threads)?,
            full: tracking.map(|_| full.to_path_buf()),
            segmenting: None,
            threads,
            input: vec![0.0; warp.tensor_len()],
            warp,
        })
    }

    /// Runs the model on `roi` of `image`.
    pub fn run(
        &mut self,
        image: &RgbImage,
        roi: &RotatedRect,
    ) -> Result<LandmarkResult, PoseError> {
        self.infer(image, roi, false)
    }

    /// [`Self::run`], keeping the person's segmentation (`Identity_2`) too: a 256x256 mask
    /// the stream has no use for, so only this asks for it.
    pub fn run_segmented(
        &mut self,
        image: &RgbImage,
        roi: &RotatedRect,
    ) -> Result<LandmarkResult, PoseError> {
        self.infer(image, roi, true)
    }

    fn infer(
        &mut self,
        image: &RgbImage,
        roi: &RotatedRect,
        segmentation: bool,
    ) -> Result<LandmarkResult, PoseError> {
        const MODEL: &str = "pose landmark model";
        if let (true, Some(full), None) = (segmentation, &self.full, &self.segmenting) {
            self.segmenting = Some(session::open(full, self.threads)?);
        }
        let model = match (&mut self.segmenting, segmentation) {
            (Some(full), true) => full,
            _ => &mut self.session,
        };
        self.warp.sample(image, roi, &mut self.input);
        let shape = [1, INPUT_SIZE, INPUT_SIZE, 3];
        let outputs = session::run(model, MODEL, &self.input, shape)?;
        let raw = session::output(
            &outputs,
            MODEL,
            "Identity",
            &[1, (NUM_ROWS * ROW_LEN) as i64],
        )?;
        let presence = session::output(&outputs, MODEL, "Identity_1", &[1, 1])?[0];
        let hm = HEATMAP_SIZE as i64;
        let heatmap =
            session::output(&outputs, MODEL, "Identity_3", &[1, hm, hm, NUM_ROWS as i64])?;
        let mask = if segmentation {
            let side = INPUT_SIZE as i64;
            let logits = session::output(&outputs, MODEL, "Identity_2", &[1, side, side, 1])?;
            Some(PersonMask::from_logits(logits, INPUT_SIZE, *roi))
        } else {
            None
        };
        let mut rows = decode_rows(raw);
        refine_from_heatmap(&mut rows, heatmap);
        let project = |lm: &Landmark| {
            let [x, y] = roi.project(lm.x, lm.y);
            Landmark {
                x,
                y,
                z: lm.z * roi.width,
                ..*lm
            }
        };
        let landmarks = rows[..NUM_LANDMARKS].iter().map(project).collect();
        Ok(LandmarkResult {
            presence,
            landmarks,
            aux: [project(&rows[AUX_CENTER]), project(&rows[AUX_SCALE])],
            mask,
        })
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Rows of (x, y, z, visibility logit, presence logit) in crop pixels -> crop-normalized
/// landmarks with probabilities.
fn decode_rows(raw: &[f32]) -> Vec<Landmark> {
    let scale = INPUT_SIZE as f32;
    raw.chunks_exact(ROW_LEN)
        .map(|r| Landmark {
            x: r[0] / scale,
            y: r[1] / scale,
            z: r[2] / scale,
            visibility: sigmoid(r[3]),
            presence: sigmoid(r[4]),
        })
        .collect()
}

/// Moves each landmark to the confidence-weighted centre of the heatmap around it, where
/// the heatmap is confident (MediaPipe's RefineLandmarksFromHeatmapCalculator; `heatmap` is
/// HWC logits). Landmarks off the heatmap stay as they are.
fn refine_from_heatmap(landmarks: &mut [Landmark], heatmap: &[f32]) {
    let (size, channels) = (HEATMAP_SIZE as i32, landmarks.len());
    let offset = (REFINE_KERNEL as i32 - 1) / 2;
    for (c, lm) in landmarks.iter_mut().enumerate() {
        // Truncation toward zero, as the C++ int conversion.
        let (col, row) = ((lm.x * size as f32) as i32, (lm.y * size as f32) as i32);
        if !(0..size).contains(&col) || !(0..size).contains(&row) {
            continue;
        }
        let (mut sum, mut wcol, mut wrow, mut max) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for r in (row - offset).max(0)..(row + offset + 1).min(size) {
            for k in (col - offset).max(0)..(col + offset + 1).min(size) {
                let v = sigmoid(heatmap[(r as usize * HEATMAP_SIZE + k as usize) * channels + c]);
                sum += v;
                max = max.max(v);
                wcol += k as f32 * v;
                wrow += r as f32 * v;
            }
        }
        if max >= REFINE_MIN_CONFIDENCE && sum > 0.0 {
            lm.x = wcol / size as f32 / sum;
            lm.y = wrow / size as f32 / sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heatmap_with_peak(
        channels: usize,
        channel: usize,
        peaks: &[(usize, usize, f32)],
    ) -> Vec<f32> {
        let mut hm = vec![-20.0; HEATMAP_SIZE * HEATMAP_SIZE * channels];
        for &(row, col, logit) in peaks {
            hm[(row * HEATMAP_SIZE + col) * channels + channel] = logit;
        }
        hm
    }

    fn lm(x: f32, y: f32) -> Landmark {
        Landmark {
            x,
            y,
            ..Landmark::default()
        }
    }

    #[test]
    fn refinement_moves_to_the_confident_centre() {
        // Two equal confident cells at columns 10 and 12 of row 20: the centre is column 11.
        let hm = heatmap_with_peak(2, 1, &[(20, 10, 10.0), (20, 12, 10.0)]);
        let mut lms = [lm(0.5, 0.5), lm(10.9 / 64.0, 20.2 / 64.0)];
        refine_from_heatmap(&mut lms, &hm);
        assert_eq!(lms[0], lm(0.5, 0.5), "channel 0 has no confident cell");
        assert!(
            (lms[1].x - 11.0 / 64.0).abs() < 1e-3,
            "x {}",
            lms[1].x * 64.0
        );
        assert!(
            (lms[1].y - 20.0 / 64.0).abs() < 1e-3,
            "y {}",
            lms[1].y * 64.0
        );
    }

    #[test]
    fn refinement_skips_weak_and_outside_landmarks() {
        // A peak below the 0.5 confidence cut (logit -1 -> 0.27) leaves the point alone,
        // and so does a point off the heatmap.
        let hm = heatmap_with_peak(1, 0, &[(5, 5, -1.0)]);
        let mut weak = [lm(5.0 / 64.0, 5.0 / 64.0)];
        refine_from_heatmap(&mut weak, &hm);
        assert_eq!(weak[0], lm(5.0 / 64.0, 5.0 / 64.0));
        let hm = heatmap_with_peak(1, 0, &[(0, 0, 10.0)]);
        let mut outside = [lm(-0.2, 1.1)];
        refine_from_heatmap(&mut outside, &hm);
        assert_eq!(outside[0], lm(-0.2, 1.1));
    }

    #[test]
    fn rows_decode_to_normalized_probabilities() {
        let raw = [128.0, 64.0, -25.6, 0.0, 100.0];
        let out = decode_rows(&raw);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].x, out[0].y, out[0].z), (0.5, 0.25, -0.1));
        assert_eq!(out[0].visibility, 0.5);
        assert!(out[0].presence > 0.999);
    }
}
