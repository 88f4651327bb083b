//! The preprocessing sampler: a rotated-rect crop of an RGB image into an NHWC f32 tensor.
//!
//! BlazePose is sensitive to how its input is sampled (a smoother resize dropped a real
//! detection under the threshold), so this follows what MediaPipe's CPU ImageToTensor does
//! bit for bit where it can: OpenCV 4.10 `warpPerspective(INTER_LINEAR)` on the 8-bit image,
//! then `convertTo` to floats. That is:
//! * the crop corners (0,0), (N,0), (0,N) map onto `cv::boxPoints` of the ROI, so output
//!   pixel (x, y) reads the source at the exact affine image of (x, y): no half-pixel shift;
//! * source coordinates are rounded to 1/32 pixel (OpenCV's INTER_BITS = 5) and blended with
//!   15-bit integer weights, then rounded to u8 (no antialiasing however far it shrinks);
//! * outside the image: BORDER_CONSTANT 0 (taps off the image read 0) or BORDER_REPLICATE;
//! * finally value = u8 · scale + offset, which maps 0..255 onto the model's range.

use crate::pose::roi::RotatedRect;
use crate::RgbImage;

/// Fractional bits of a source coordinate (OpenCV INTER_BITS).
const FRAC_BITS: u32 = 5;
const FRAC_STEPS: i32 = 1 << FRAC_BITS;
/// Fixed-point bits of the bilinear weights (OpenCV INTER_REMAP_COEF_BITS).
const WEIGHT_BITS: u32 = 15;

/// What a tap outside the source image reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Zero (black); after the value mapping, the range minimum. The detector's letterbox.
    Zero,
    /// The nearest edge pixel. The landmark crop.
    Replicate,
}

/// A reusable sampler for one output size, border rule and value range. Building it
/// precomputes the weight and value tables, so sampling allocates nothing.
#[derive(Debug, Clone)]
pub struct Warp {
    size: usize,
    border: Border,
    /// Float value of each u8 level.
    values: [f32; 256],
    /// Bilinear weights [top-left, top-right, bottom-left, bottom-right] for each
    /// (y fraction, x fraction) pair, indexed `fy * 32 + fx`.
    weights: Box<[[i32; 4]]>,
}

impl Warp {
    /// A sampler producing `size`×`size`×3 values mapped linearly from 0..255 onto
    /// `range[0]..range[1]` (MediaPipe's `output_tensor_float_range`).
    pub fn new(size: usize, border: Border, range: [f32; 2]) -> Self {
        let scale = (range[1] - range[0]) / 255.0;
        let offset = range[0];
        let values = std::array::from_fn(|v| v as f32 * scale + offset);
        let weights = (0..FRAC_STEPS * FRAC_STEPS)
            .map(|i| {
                let (fy, fx) = (i / FRAC_STEPS, i % FRAC_STEPS);
                let (gx, gy) = (FRAC_STEPS - fx, FRAC_STEPS - fy);
                // Products of multiples of 1/32 scaled to 2^15: exact integers.
                let unit = (1 << WEIGHT_BITS) / (FRAC_STEPS * FRAC_STEPS);
                [
                    gx * gy * unit,
                    fx * gy * unit,
                    gx * fy * unit,
                    fx * fy * unit,
                ]
            })
            .collect();
        Self {
            size,
            border,
            values,
            weights,
        }
    }

    /// Side of the square output in pixels.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of f32 values one output holds (size × size × 3).
    pub fn tensor_len(&self) -> usize {
        self.size * self.size * 3
    }

    /// Samples `roi` of `image` into `out` (NHWC, row-major, RGB), which must hold
    /// [`Self::tensor_len`] values. An empty image reads as all border.
    pub fn sample(&self, image: &RgbImage, roi: &RotatedRect, out: &mut [f32]) {
        assert_eq!(out.len(), self.tensor_len(), "warp output buffer size");
        let n = self.size as f64;
        // Crop (0,0) -> top-left corner, (N,0) -> top-right, (0,N) -> bottom-left.
        let [bottom_left, top_left, top_right, _] = roi.box_points().map(|p| p.map(f64::from));
        let origin = top_left;
        let step_x = [
            (top_right[0] - top_left[0]) / n,
            (top_right[1] - top_left[1]) / n,
        ];
        let step_y = [
            (bottom_left[0] - top_left[0]) / n,
            (bottom_left[1] - top_left[1]) / n,
        ];
        let source = Source::new(image);
        let q = f64::from(FRAC_STEPS);
        for (y, row) in out.chunks_exact_mut(self.size * 3).enumerate() {
            let row_x = origin[0] + step_y[0] * y as f64;
            let row_y = origin[1] + step_y[1] * y as f64;
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let sx = row_x + step_x[0] * x as f64;
                let sy = row_y + step_x[1] * x as f64;
                // OpenCV rounds half to even (cvRound) and saturates.
                let qx = (sx * q).round_ties_even() as i32;
                let qy = (sy * q).round_ties_even() as i32;
                let w = &self.weights
                    [((qy & (FRAC_STEPS - 1)) * FRAC_STEPS + (qx & (FRAC_STEPS - 1))) as usize];
                let ix = (qx >> FRAC_BITS).clamp(i16::MIN.into(), i16::MAX.into());
                let iy = (qy >> FRAC_BITS).clamp(i16::MIN.into(), i16::MAX.into());
                let rgb = source.bilinear(ix, iy, w, self.border);
                px[0] = self.values[rgb[0] as usize];
                px[1] = self.values[rgb[1] as usize];
                px[2] = self.values[rgb[2] as usize];
            }
        }
    }
}

/// The source image with its sizes as the signed integers the tap arithmetic needs.
struct Source<'a> {
    data: &'a [u8],
    width: i32,
    height: i32,
    stride: usize,
}

impl<'a> Source<'a> {
    fn new(image: &'a RgbImage) -> Self {
        Self {
            data: &image.data,
            width: image.width as i32,
            height: image.height as i32,
            stride: image.width as usize * 3,
        }
    }

    #[inline(always)]
    fn at(&self, x: i32, y: i32) -> &[u8] {
        let i = y as usize * self.stride + x as usize * 3;
        &self.data[i..i + 3]
    }

    /// The blended value at integer tap (x, y) with its fractional weights.
    #[inline(always)]
    fn bilinear(&self, x: i32, y: i32, w: &[i32; 4], border: Border) -> [u8; 3] {
        const ZERO: [u8; 3] = [0; 3];
        let inside = (x as u32) < (self.width - 1).max(0) as u32
            && (y as u32) < (self.height - 1).max(0) as u32;
        if inside {
            let i = y as usize * self.stride + x as usize * 3;
            let (t, b) = (
                &self.data[i..i + 6],
                &self.data[i + self.stride..i + self.stride + 6],
            );
            return std::array::from_fn(|c| {
                blend(
                    [t[c].into(), t[c + 3].into(), b[c].into(), b[c + 3].into()],
                    w,
                )
            });
        }
        let taps: [&[u8]; 4] = match border {
            Border::Zero => {
                if x >= self.width || x + 1 < 0 || y >= self.height || y + 1 < 0 {
                    return ZERO;
                }
                let tap = |tx: i32, ty: i32| -> &[u8] {
                    if (0..self.width).contains(&tx) && (0..self.height).contains(&ty) {
                        self.at(tx, ty)
                    } else {
                        &ZERO
                    }
                };
                [tap(x, y), tap(x + 1, y), tap(x, y + 1), tap(x + 1, y + 1)]
            }
            Border::Replicate => {
                if self.width <= 0 || self.height <= 0 {
                    return ZERO;
                }
                let cx = |v: i32| v.clamp(0, self.width - 1);
                let cy = |v: i32| v.clamp(0, self.height - 1);
                [
                    self.at(cx(x), cy(y)),
                    self.at(cx(x + 1), cy(y)),
                    self.at(cx(x), cy(y + 1)),
                    self.at(cx(x + 1), cy(y + 1)),
                ]
            }
        };
        std::array::from_fn(|c| {
            blend(
                [
                    taps[0][c].into(),
                    taps[1][c].into(),
                    taps[2][c].into(),
                    taps[3][c].into(),
                ],
                w,
            )
        })
    }
}

/// Fixed-point blend with rounding, as OpenCV's FixedPtCast.
#[inline(always)]
fn blend(v: [i32; 4], w: &[i32; 4]) -> u8 {
    let sum = v[0] * w[0] + v[1] * w[1] + v[2] * w[2] + v[3] * w[3];
    ((sum + (1 << (WEIGHT_BITS - 1))) >> WEIGHT_BITS).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::FRAC_PI_2;

    /// An image whose pixels encode their position, so reads can be traced back.
    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[(x * 10) as u8, (y * 10) as u8, 7]);
            }
        }
        RgbImage::from_raw(w, h, data)
    }

    fn square(center: f32, side: f32, rotation: f32) -> RotatedRect {
        RotatedRect {
            center_x: center,
            center_y: center,
            width: side,
            height: side,
            rotation,
        }
    }

    fn at(out: &[f32], n: usize, x: usize, y: usize) -> [f32; 3] {
        let i = (y * n + x) * 3;
        [out[i], out[i + 1], out[i + 2]]
    }

    #[test]
    fn identity_mapping_reproduces_pixels() {
        let img = gradient(8, 8);
        let warp = Warp::new(8, Border::Replicate, [0.0, 255.0]);
        let mut out = vec![0.0; warp.tensor_len()];
        warp.sample(&img, &square(4.0, 8.0, 0.0), &mut out);
        for y in 0..8 {
            for x in 0..8 {
                let p = img.pixel(x, y).map(f32::from);
                assert_eq!(at(&out, 8, x as usize, y as usize), p, "pixel ({x},{y})");
            }
        }
    }

    #[test]
    fn value_range_maps_levels() {
        let img = RgbImage::filled(2, 2, [0, 255, 51]);
        let warp = Warp::new(2, Border::Zero, [-1.0, 1.0]);
        let mut out = vec![0.0; warp.tensor_len()];
        warp.sample(&img, &square(1.0, 2.0, 0.0), &mut out);
        let [r, g, b] = at(&out, 2, 0, 0);
        assert_eq!((r, g), (-1.0, 1.0));
        assert!((b - (51.0 / 127.5 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn upsampling_blends_with_rounding_and_no_half_pixel_shift() {
        // 2x enlargement: output x reads source x / 2, so odd outputs fall halfway.
        let img = RgbImage::from_raw(2, 2, vec![0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]);
        let zero = Warp::new(4, Border::Zero, [0.0, 255.0]);
        let repl = Warp::new(4, Border::Replicate, [0.0, 255.0]);
        let mut a = vec![0.0; zero.tensor_len()];
        let mut b = vec![0.0; repl.tensor_len()];
        zero.sample(&img, &square(1.0, 2.0, 0.0), &mut a);
        repl.sample(&img, &square(1.0, 2.0, 0.0), &mut b);
        let row = |out: &[f32]| (0..4).map(|x| at(out, 4, x, 0)[0]).collect::<Vec<_>>();
        // 127.5 rounds up (fixed point + half); the last column reads x = 1.5, half off the
        // image: it blends with black, or with the replicated edge.
        assert_eq!(row(&a), vec![0.0, 128.0, 255.0, 128.0]);
        assert_eq!(row(&b), vec![0.0, 128.0, 255.0, 255.0]);
    }

    #[test]
    fn letterbox_border_reads_zero_and_replicate_reads_edge() {
        // A 4x2 image padded to a 4x4 square: output row y reads source row y - 1.
        let img = gradient(4, 2);
        let (roi, _) = RotatedRect::letterboxed(4, 2);
        let zero = Warp::new(4, Border::Zero, [-1.0, 1.0]);
        let mut out = vec![0.0; zero.tensor_len()];
        zero.sample(&img, &roi, &mut out);
        for x in 0..4 {
            assert_eq!(at(&out, 4, x, 0), [-1.0; 3], "top padding at x={x}");
            assert_eq!(at(&out, 4, x, 3), [-1.0; 3], "bottom padding at x={x}");
            let p = img.pixel(x as u32, 1).map(|v| zero.values[v as usize]);
            assert_eq!(at(&out, 4, x, 2), p);
        }
        let repl = Warp::new(4, Border::Replicate, [0.0, 255.0]);
        let mut out = vec![0.0; repl.tensor_len()];
        repl.sample(&img, &roi, &mut out);
        for x in 0..4 {
            let top = img.pixel(x as u32, 0).map(f32::from);
            let bottom = img.pixel(x as u32, 1).map(f32::from);
            assert_eq!(at(&out, 4, x, 0), top);
            assert_eq!(at(&out, 4, x, 3), bottom);
        }
    }

    #[test]
    fn rotation_follows_box_points() {
        // Rotated by +90°, crop (x, y) reads source (N - y, x): the top-left crop corner sits
        // on the source's top-right corner.
        let img = gradient(6, 6);
        let warp = Warp::new(6, Border::Replicate, [0.0, 255.0]);
        let mut out = vec![0.0; warp.tensor_len()];
        warp.sample(&img, &square(3.0, 6.0, FRAC_PI_2), &mut out);
        for y in 0..6u32 {
            for x in 0..6u32 {
                let expect = img.pixel((6 - y).min(5), x).map(f32::from);
                assert_eq!(at(&out, 6, x as usize, y as usize), expect, "({x},{y})");
            }
        }
    }

    #[test]
    fn empty_image_reads_border() {
        let img = RgbImage::from_raw(0, 0, vec![]);
        for border in [Border::Zero, Border::Replicate] {
            let warp = Warp::new(3, border, [0.0, 1.0]);
            let mut out = vec![9.0; warp.tensor_len()];
            warp.sample(&img, &square(0.0, 3.0, 0.3), &mut out);
            assert!(out.iter().all(|&v| v == 0.0));
        }
    }
}
