//! Fitting a source frame into the square panel the generator works in.

use crate::{RgbImage, Skeleton};

/// How source pixels map into a `size x size` panel: uniform scale, then offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelFit {
    pub size: u32,
    pub scale: f32,
    pub offset_x: f32,
    pub offset_y: f32,
}

impl PanelFit {
    /// Scales a `width x height` frame to fit inside the panel, centred.
    pub fn new(width: u32, height: u32, size: u32) -> Self {
        let scale = size as f32 / width.max(height) as f32;
        Self {
            size,
            scale,
            offset_x: (size as f32 - width as f32 * scale) / 2.0,
            offset_y: (size as f32 - height as f32 * scale) / 2.0,
        }
    }

    /// The square `side` x `side` region centred on (`cx`, `cy`) of the source, scaled to the
    /// panel: a crop (parts outside the source come out black).
    pub fn crop(cx: f32, cy: f32, side: f32, size: u32) -> Self {
        let scale = size as f32 / side;
        Self {
            size,
            scale,
            offset_x: (side / 2.0 - cx) * scale,
            offset_y: (side / 2.0 - cy) * scale,
        }
    }

    /// Maps a source pixel position to panel pixels.
    #[inline]
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            x * self.scale + self.offset_x,
            y * self.scale + self.offset_y,
        )
    }

    /// The skeleton in panel pixels.
    pub fn skeleton(&self, skeleton: &Skeleton) -> Skeleton {
        let mut out = skeleton.clone();
        for lm in &mut out.landmarks {
            (lm.x, lm.y) = self.apply(lm.x, lm.y);
            lm.z *= self.scale;
        }
        out
    }
}

/// The frame scaled into a black `size x size` panel with bilinear sampling (pixel centres
/// aligned), for side-by-side views; with a [`PanelFit::crop`], the cropped region.
pub fn letterbox(image: &RgbImage, fit: &PanelFit) -> RgbImage {
    let size = fit.size as usize;
    let mut out = RgbImage::filled(fit.size, fit.size, [0, 0, 0]);
    let (w, h) = (image.width as usize, image.height as usize);
    let inv = 1.0 / fit.scale;
    let x0 = fit.offset_x.round().max(0.0) as usize;
    let y0 = fit.offset_y.round().max(0.0) as usize;
    let x1 = ((fit.offset_x + w as f32 * fit.scale).round() as usize).min(size);
    let y1 = ((fit.offset_y + h as f32 * fit.scale).round() as usize).min(size);
    // Horizontal taps are the same for every row: compute them once.
    let taps: Vec<(usize, usize, f32)> = (x0..x1)
        .map(|x| {
            let sx = ((x as f32 + 0.5 - fit.offset_x) * inv - 0.5).clamp(0.0, (w - 1) as f32);
            let left = sx.floor() as usize;
            (left, (left + 1).min(w - 1), sx - left as f32)
        })
        .collect();
    for y in y0..y1 {
        let sy = ((y as f32 + 0.5 - fit.offset_y) * inv - 0.5).clamp(0.0, (h - 1) as f32);
        let top = sy.floor() as usize;
        let bottom = (top + 1).min(h - 1);
        let fy = sy - top as f32;
        let row_t = &image.data[top * w * 3..(top + 1) * w * 3];
        let row_b = &image.data[bottom * w * 3..(bottom + 1) * w * 3];
        let dst = &mut out.data[(y * size + x0) * 3..(y * size + x1) * 3];
        for (d, &(l, r, fx)) in dst.chunks_exact_mut(3).zip(&taps) {
            for c in 0..3 {
                let t = row_t[l * 3 + c] as f32 * (1.0 - fx) + row_t[r * 3 + c] as f32 * fx;
                let b = row_b[l * 3 + c] as f32 * (1.0 - fx) + row_b[r * 3 + c] as f32 * fx;
                d[c] = (t * (1.0 - fy) + b * fy + 0.5) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tall_frame_is_centred_horizontally() {
        let fit = PanelFit::new(100, 200, 256);
        assert_eq!(fit.scale, 1.28);
        assert_eq!(fit.apply(0.0, 0.0), (64.0, 0.0));
        assert_eq!(fit.apply(100.0, 200.0), (192.0, 256.0));
    }

    #[test]
    fn crop_maps_its_region_onto_the_panel() {
        let fit = PanelFit::crop(150.0, 100.0, 100.0, 50);
        assert_eq!(fit.apply(100.0, 50.0), (0.0, 0.0));
        assert_eq!(fit.apply(200.0, 150.0), (50.0, 50.0));
        let mut img = RgbImage::filled(300, 200, [0, 0, 255]);
        for y in 0..200 {
            for x in 0..150 {
                let i = (y * 300 + x) * 3;
                img.data[i..i + 3].copy_from_slice(&[255, 0, 0]);
            }
        }
        let out = letterbox(&img, &fit);
        assert_eq!(out.pixel(10, 25), [255, 0, 0]);
        assert_eq!(out.pixel(40, 25), [0, 0, 255]);
    }

    #[test]
    fn letterbox_keeps_colours_and_pads_black() {
        let img = RgbImage::filled(50, 100, [200, 100, 50]);
        let out = letterbox(&img, &PanelFit::new(50, 100, 64));
        assert_eq!(out.pixel(32, 32), [200, 100, 50]);
        assert_eq!(out.pixel(2, 32), [0, 0, 0]);
        assert_eq!(out.pixel(61, 32), [0, 0, 0]);
    }
}
