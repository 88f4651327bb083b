//! The person's segmentation the landmark model gives beside its landmarks (`Identity_2`:
//! 256x256 logits over the ROI crop), kept as probabilities and read back in source pixels.
//! Posewarp cuts the person out with it, and builds the room without the person from it.

use crate::pose::roi::RotatedRect;

/// Where the person is, over one ROI crop.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMask {
    /// Side of the square crop the mask covers, in mask pixels.
    side: usize,
    /// Row-major person probabilities, 0..255.
    probabilities: Vec<u8>,
    /// The crop in source pixels.
    roi: RotatedRect,
}

impl PersonMask {
    /// The mask from the model's `side` x `side` logits over `roi`.
    pub fn from_logits(logits: &[f32], side: usize, roi: RotatedRect) -> Self {
        assert_eq!(logits.len(), side * side, "a square of logits");
        let probabilities = logits
            .iter()
            .map(|&l| (255.0 / (1.0 + (-l).exp())).round() as u8)
            .collect();
        Self {
            side,
            probabilities,
            roi,
        }
    }

    /// The probability (0..1) that source pixel (`x`, `y`) is the person: bilinear between
    /// the mask's pixel centres, 0 outside the crop.
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let roi = &self.roi;
        let (sin, cos) = roi.rotation.sin_cos();
        let (a, b) = (
            (x - roi.center_x) / roi.width,
            (y - roi.center_y) / roi.height,
        );
        // The inverse of RotatedRect::project: source pixels to crop-normalized.
        let u = cos * a + sin * b + 0.5;
        let v = -sin * a + cos * b + 0.5;
        let n = self.side as f32;
        let (px, py) = (u * n - 0.5, v * n - 0.5);
        let (x0, y0) = (px.floor(), py.floor());
        let (fx, fy) = (px - x0, py - y0);
        let read = |col: f32, row: f32| -> f32 {
            if col < 0.0 || row < 0.0 || col >= n || row >= n {
                return 0.0;
            }
            f32::from(self.probabilities[row as usize * self.side + col as usize]) / 255.0
        };
        let top = read(x0, y0) * (1.0 - fx) + read(x0 + 1.0, y0) * fx;
        let bottom = read(x0, y0 + 1.0) * (1.0 - fx) + read(x0 + 1.0, y0 + 1.0) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_reads_back_where_the_crop_lies_in_the_source() {
        // A 4x4 mask over a crop of side 40 centred at (100, 50), turned a quarter: the
        // person fills the crop's top-left quarter only.
        let mut logits = vec![-20.0; 16];
        for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            logits[r * 4 + c] = 20.0;
        }
        let roi = RotatedRect {
            center_x: 100.0,
            center_y: 50.0,
            width: 40.0,
            height: 40.0,
            rotation: std::f32::consts::FRAC_PI_2,
        };
        let mask = PersonMask::from_logits(&logits, 4, roi);
        // The crop's top-left quarter centre (0.25, 0.25) projects to a source point.
        let [x, y] = roi.project(0.25, 0.25);
        assert!(mask.at(x, y) > 0.99, "{}", mask.at(x, y));
        let [x, y] = roi.project(0.75, 0.75);
        assert!(mask.at(x, y) < 0.01, "{}", mask.at(x, y));
        // Outside the crop nothing is the person.
        assert_eq!(mask.at(0.0, 0.0), 0.0);
    }
}
