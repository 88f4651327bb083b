//! The BlazePose person detector: SSD anchors, box and keypoint decoding, weighted NMS.
//!
//! Constants are MediaPipe 0.10.21's (`pose_detection_cpu.pbtxt`); see
//! `docs/pose-model.md` in the shared docs for where each comes from.

use std::path::Path;

use ort::session::Session;

use crate::pose::roi::{Letterbox, RotatedRect};
use crate::pose::session;
use crate::pose::warp::{Border, Warp};
use crate::pose::PoseError;
use crate::RgbImage;

/// File name of the detector in the models folder.
pub const DETECTOR_FILE: &str = "pose_detection.onnx";
/// Side of the detector's square input.
pub const INPUT_SIZE: usize = 224;
/// Number of anchors: 28·28·2 + 14·14·2 + 7·7·6.
pub const NUM_ANCHORS: usize = 2254;
const NUM_COORDS: usize = 12;
const NUM_KEYPOINTS: usize = 4;
const SCORE_CLIP: f32 = 100.0;
const NMS_IOU: f32 = 0.3;

/// One detected person in image-normalized coordinates (0..1 across the image).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub score: f32,
    /// Box (roughly the head) as xmin, ymin, xmax, ymax.
    pub bbox: [f32; 4],
    /// Mid-hip, full-body scale point, mid-shoulder, upper-body scale point.
    pub keypoints: [[f32; 2]; NUM_KEYPOINTS],
}

impl Detection {
    /// The landmark model's first ROI: centred on the mid-hip, sized and turned by the
    /// full-body scale point (MediaPipe's pose_detection_to_roi).
    pub fn roi(&self, width: u32, height: u32) -> RotatedRect {
        let px = |[x, y]: [f32; 2]| [x * width as f32, y * height as f32];
        RotatedRect::from_alignment(px(self.keypoints[0]), px(self.keypoints[1]))
    }
}

/// The detector model with its anchors and input buffer.
pub struct Detector {
    session: Session,
    anchors: Vec<[f32; 2]>,
    warp: Warp,
    input: Vec<f32>,
    min_score: f32,
}

impl Detector {
    /// Loads the model from `path`; detections scoring below `min_score` are dropped.
    pub fn new(path: &Path, threads: usize, min_score: f32) -> Result<Self, PoseError> {
        let warp = Warp::new(INPUT_SIZE, Border::Zero, [-1.0, 1.0]);
        Ok(Self {
            session: session::open(path, threads)?,
            anchors: anchors(),
            input: vec![0.0; warp.tensor_len()],
            warp,
            min_score,
        })
    }

    /// All people found in `image`, best first, after NMS.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>, PoseError> {
        const MODEL: &str = "pose detector";
        let (roi, letterbox) = RotatedRect::letterboxed(image.width, image.height);
        self.warp.sample(image, &roi, &mut self.input);
        let shape = [1, INPUT_SIZE, INPUT_SIZE, 3];
        let outputs = session::run(&mut self.session, MODEL, &self.input, shape)?;
        let n = NUM_ANCHORS as i64;
        let boxes = session::output(&outputs, MODEL, "Identity", &[1, n, NUM_COORDS as i64])?;
        let scores = session::output(&outputs, MODEL, "Identity_1", &[1, n, 1])?;
        let raw = decode(boxes, scores, &self.anchors, self.min_score);
        Ok(weighted_nms(raw)
            .into_iter()
            .map(|d| remove_letterbox(d, &letterbox))
            .collect())
    }
}

/// Anchor centres in MediaPipe's order: stride group, row, column, anchor.
pub fn anchors() -> Vec<[f32; 2]> {
    // Strides 8 and 16 have 2 anchors a cell; the three stride-32 layers merge into 6.
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    for (stride, per_cell) in [(8, 2), (16, 2), (32, 6)] {
        let cells = INPUT_SIZE / stride;
        for y in 0..cells {
            for x in 0..cells {
                let centre = [
                    (x as f32 + 0.5) / cells as f32,
                    (y as f32 + 0.5) / cells as f32,
                ];
                out.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Turns raw regressors into detections (tensor-normalized), keeping scores >= `min_score`.
pub fn decode(
    boxes: &[f32],
    scores: &[f32],
    anchors: &[[f32; 2]],
    min_score: f32,
) -> Vec<Detection> {
    let scale = INPUT_SIZE as f32;
    let mut out = Vec::new();
    for (i, (r, &logit)) in boxes.chunks_exact(NUM_COORDS).zip(scores).enumerate() {
        let score = sigmoid(logit.clamp(-SCORE_CLIP, SCORE_CLIP));
        if score < min_score {
            continue;
        }
        let [ax, ay] = anchors[i];
        let (cx, cy) = (r[0] / scale + ax, r[1] / scale + ay);
        let (w, h) = (r[2] / scale, r[3] / scale);
        let keypoints =
            std::array::from_fn(|k| [r[4 + 2 * k] / scale + ax, r[5 + 2 * k] / scale + ay]);
        out.push(Detection {
            score,
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
            keypoints,
        });
    }
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// MediaPipe's WEIGHTED non-maximum suppression: each cluster (IoU > 0.3 with its best box)
/// becomes one detection, its box and keypoints the score-weighted mean, its score the best.
pub fn weighted_nms(mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !detections.is_empty() {
        let top = detections[0].bbox;
        let (cluster, rest): (Vec<_>, Vec<_>) = detections
            .into_iter()
            .partition(|d| iou(&top, &d.bbox) > NMS_IOU);
        detections = rest;
        if cluster.is_empty() {
            // A degenerate top box (zero area) overlaps nothing, not even itself: drop it.
            detections.remove(0);
            continue;
        }
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = Detection {
            score: cluster[0].score,
            bbox: [0.0; 4],
            keypoints: [[0.0; 2]; NUM_KEYPOINTS],
        };
        for d in &cluster {
            let w = d.score / total;
            for (m, v) in merged.bbox.iter_mut().zip(d.bbox) {
                *m += v * w;
            }
            for (m, k) in merged.keypoints.iter_mut().zip(d.keypoints) {
                m[0] += k[0] * w;
                m[1] += k[1] * w;
            }
        }
        out.push(merged);
    }
    out
}

fn remove_letterbox(mut d: Detection, letterbox: &Letterbox) -> Detection {
    let [x0, y0] = letterbox.remove([d.bbox[0], d.bbox[1]]);
    let [x1, y1] = letterbox.remove([d.bbox[2], d.bbox[3]]);
    d.bbox = [x0, y0, x1, y1];
    for k in &mut d.keypoints {
        *k = letterbox.remove(*k);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_mediapipe_layout() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        // First cell of the stride-8 grid, twice; then its right neighbour.
        assert_eq!(a[0], [0.5 / 28.0, 0.5 / 28.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [1.5 / 28.0, 0.5 / 28.0]);
        // The stride-16 grid starts after 28·28·2 anchors; the stride-32 one after 392 more.
        assert_eq!(a[1568], [0.5 / 14.0, 0.5 / 14.0]);
        assert_eq!(a[1960], [0.5 / 7.0, 0.5 / 7.0]);
        assert_eq!(a[1965], a[1960]);
        assert_eq!(a[1966], [1.5 / 7.0, 0.5 / 7.0]);
        assert_eq!(a[NUM_ANCHORS - 1], [6.5 / 7.0, 6.5 / 7.0]);
    }

    fn raw_row(cx: f32, cy: f32, w: f32, kp0: [f32; 2]) -> [f32; NUM_COORDS] {
        let mut r = [0.0; NUM_COORDS];
        r[..4].copy_from_slice(&[cx, cy, w, w]);
        r[4] = kp0[0];
        r[5] = kp0[1];
        r
    }

    #[test]
    fn decode_offsets_from_anchor_and_filters_scores() {
        let anchors = vec![[0.5, 0.5], [0.25, 0.75]];
        let boxes: Vec<f32> = [
            raw_row(22.4, -22.4, 44.8, [0.0, 11.2]),
            raw_row(0.0, 0.0, 1.0, [0.0, 0.0]),
        ]
        .concat();
        let scores = [3.0, -3.0];
        let d = decode(&boxes, &scores, &anchors, 0.5);
        assert_eq!(d.len(), 1);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        // centre (0.6, 0.4), side 0.2
        assert!(close(d[0].bbox[0], 0.5) && close(d[0].bbox[1], 0.3));
        assert!(close(d[0].bbox[2], 0.7) && close(d[0].bbox[3], 0.5));
        assert!(close(d[0].keypoints[0][0], 0.5) && close(d[0].keypoints[0][1], 0.55));
        assert!(close(d[0].score, sigmoid(3.0)));
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_people() {
        let det = |score: f32, x: f32| Detection {
            score,
            bbox: [x, 0.0, x + 0.2, 0.2],
            keypoints: [[x, 0.5]; NUM_KEYPOINTS],
        };
        let out = weighted_nms(vec![det(0.6, 0.02), det(0.9, 0.0), det(0.7, 0.6)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // mean of x 0.0 (weight 0.9) and 0.02 (weight 0.6)
        let x = 0.02 * 0.6 / 1.5;
        assert!((out[0].bbox[0] - x).abs() < 1e-6 && (out[0].keypoints[2][0] - x).abs() < 1e-6);
        assert_eq!(out[1].bbox[0], 0.6);
    }
}
