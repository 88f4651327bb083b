//! Regions of interest: the rotated squares the landmark model looks at.
//!
//! MediaPipe keeps these as normalized rects and converts to pixels at each use; here they
//! live in source pixels throughout, which is the same arithmetic up to float rounding.

use std::f32::consts::{FRAC_PI_2, PI};

/// MediaPipe enlarges the alignment box by this factor on both axes (RectTransformation).
pub const ROI_SCALE: f32 = 1.25;

/// A rectangle in source pixels, rotated by `rotation` radians about its centre (clockwise on
/// screen, since y points down), as MediaPipe's `NormalizedRect` scaled to the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedRect {
    pub center_x: f32,
    pub center_y: f32,
    pub width: f32,
    pub height: f32,
    pub rotation: f32,
}

impl RotatedRect {
    /// The square ROI MediaPipe derives from two alignment points (AlignmentPointsRects with
    /// a 90° target, then RectTransformation with [`ROI_SCALE`] and `square_long`): centred on
    /// `center`, side 2·|scale_point − center|·1.25, rotated so that `scale_point` points up.
    pub fn from_alignment(center: [f32; 2], scale_point: [f32; 2]) -> Self {
        let box_size = alignment_box_size(center, scale_point);
        let rotation = normalize_radians(
            FRAC_PI_2 - (-(scale_point[1] - center[1])).atan2(scale_point[0] - center[0]),
        );
        Self {
            center_x: center[0],
            center_y: center[1],
            width: box_size * ROI_SCALE,
            height: box_size * ROI_SCALE,
            rotation,
        }
    }

    /// The whole image padded to a square about its centre, as ImageToTensor's
    /// `keep_aspect_ratio` does, with the padding each side as a fraction of the square.
    pub fn letterboxed(width: u32, height: u32) -> (Self, Letterbox) {
        let (w, h) = (width as f32, height as f32);
        let roi_aspect = h / w;
        let (side, pad) = if 1.0 > roi_aspect {
            (
                w,
                Letterbox {
                    horizontal: 0.0,
                    vertical: (1.0 - roi_aspect) / 2.0,
                },
            )
        } else {
            (
                h,
                Letterbox {
                    horizontal: (1.0 - 1.0 / roi_aspect) / 2.0,
                    vertical: 0.0,
                },
            )
        };
        let roi = Self {
            center_x: 0.5 * w,
            center_y: 0.5 * h,
            width: side,
            height: side,
            rotation: 0.0,
        };
        (roi, pad)
    }

    /// OpenCV's `cv::boxPoints` in its own float arithmetic: bottom-left, top-left, top-right,
    /// bottom-right of the unrotated box. The warp maps crop corners onto exactly these.
    pub fn box_points(&self) -> [[f32; 2]; 4] {
        let degrees = self.rotation * 180.0 / PI;
        let angle = f64::from(degrees) * std::f64::consts::PI / 180.0;
        let b = angle.cos() as f32 * 0.5;
        let a = angle.sin() as f32 * 0.5;
        let (cx, cy, w, h) = (self.center_x, self.center_y, self.width, self.height);
        let p0 = [cx - a * h - b * w, cy + b * h - a * w];
        let p1 = [cx + a * h - b * w, cy - b * h - a * w];
        let p2 = [2.0 * cx - p0[0], 2.0 * cy - p0[1]];
        let p3 = [2.0 * cx - p1[0], 2.0 * cy - p1[1]];
        [p0, p1, p2, p3]
    }

    /// Maps a point given in crop-normalized coordinates (0..1 across the crop) to source
    /// pixels (MediaPipe's LandmarkProjection).
    pub fn project(&self, x: f32, y: f32) -> [f32; 2] {
        let (u, v) = (x - 0.5, y - 0.5);
        let (sin, cos) = self.rotation.sin_cos();
        [
            (cos * u - sin * v) * self.width + self.center_x,
            (sin * u + cos * v) * self.height + self.center_y,
        ]
    }
}

/// The padding ImageToTensor added around the image to make it square, as fractions of the
/// square side on each of the two opposite edges.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Letterbox {
    pub horizontal: f32,
    pub vertical: f32,
}

impl Letterbox {
    /// Maps a tensor-normalized point back to image-normalized coordinates.
    pub fn remove(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        [
            (x - self.horizontal) / (1.0 - 2.0 * self.horizontal),
            (y - self.vertical) / (1.0 - 2.0 * self.vertical),
        ]
    }
}

/// Side of the alignment box before scaling: twice the distance between the two points.
/// MediaPipe's pose filters also use it as the object scale of the landmarks.
pub fn alignment_box_size(center: [f32; 2], scale_point: [f32; 2]) -> f32 {
    (scale_point[0] - center[0]).hypot(scale_point[1] - center[1]) * 2.0
}

/// Wraps an angle into [-π, π), as MediaPipe's NormalizeRadians.
pub fn normalize_radians(angle: f32) -> f32 {
    let a = f64::from(angle);
    let tau = 2.0 * std::f64::consts::PI;
    (a - tau * ((a + std::f64::consts::PI) / tau).floor()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn upright_body_gives_unrotated_roi() {
        // Scale point straight above the centre: the body already points up.
        let roi = RotatedRect::from_alignment([100.0, 200.0], [100.0, 120.0]);
        assert!(close(roi.rotation, 0.0), "rotation {}", roi.rotation);
        assert!(close(roi.width, 2.0 * 80.0 * 1.25));
        assert_eq!(roi.width, roi.height);
        assert_eq!((roi.center_x, roi.center_y), (100.0, 200.0));
    }

    #[test]
    fn rotation_follows_the_scale_point() {
        // Scale point to the right of the centre: the crop must turn by +90° so that it
        // ends up at the top of the crop.
        let roi = RotatedRect::from_alignment([0.0, 0.0], [30.0, 0.0]);
        assert!(close(roi.rotation, FRAC_PI_2), "rotation {}", roi.rotation);
        assert!(close(roi.width, 75.0));
        // Below the centre: upside down, wrapped into [-π, π).
        let roi = RotatedRect::from_alignment([0.0, 0.0], [0.0, 10.0]);
        assert!(close(roi.rotation.abs(), PI), "rotation {}", roi.rotation);
        // The crop's top-centre lands on the far end of the scaled box, along the body axis.
        let roi = RotatedRect::from_alignment([50.0, 50.0], [80.0, 50.0]);
        let top = roi.project(0.5, 0.0);
        assert!(
            close(top[0], 50.0 + 30.0 * 1.25) && close(top[1], 50.0),
            "{top:?}"
        );
    }

    #[test]
    fn normalize_radians_wraps() {
        assert!(close(normalize_radians(3.0 * PI / 2.0), -FRAC_PI_2));
        assert!(close(normalize_radians(-3.0 * PI / 2.0), FRAC_PI_2));
        assert!(close(normalize_radians(0.3), 0.3));
    }

    #[test]
    fn letterbox_pads_the_short_side() {
        let (roi, pad) = RotatedRect::letterboxed(1024, 512);
        assert_eq!((roi.width, roi.height), (1024.0, 1024.0));
        assert!(close(pad.vertical, 0.25) && pad.horizontal == 0.0);
        let [x, y] = pad.remove([0.5, 0.25]);
        assert!(close(x, 0.5) && close(y, 0.0));
        let (roi, pad) = RotatedRect::letterboxed(300, 600);
        assert_eq!(roi.width, 600.0);
        assert!(close(pad.horizontal, 0.25) && pad.vertical == 0.0);
    }

    #[test]
    fn box_points_follow_opencv_order() {
        let roi = RotatedRect {
            center_x: 10.0,
            center_y: 20.0,
            width: 4.0,
            height: 6.0,
            rotation: 0.0,
        };
        let p = roi.box_points();
        assert_eq!(p, [[8.0, 23.0], [8.0, 17.0], [12.0, 17.0], [12.0, 23.0]]);
    }
}
