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
/// aligned), for side-by-side views. Two taps and no prefilter: fast, and fine for
/// enlarging or mild shrinking; [`crop_resampled`] is for training data.
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

/// The square region of `fit` (a [`PanelFit::crop`]) cut from `image` and resampled to the
/// panel with a triangle filter whose support widens with the reduction, so a person 900
/// px tall shrunk to 256 keeps its texture instead of aliasing into moire (the two-tap
/// [`letterbox`] samples one pixel in four there). Parts outside the source are black. The
/// crop is placed to the nearest source pixel (an eighth of an output pixel at a 4x
/// reduction); a crop of the panel's own size is copied exactly.
pub fn crop_resampled(image: &RgbImage, fit: &PanelFit) -> RgbImage {
    let side = (fit.size as f32 / fit.scale).round().max(1.0) as i64;
    let left = (-fit.offset_x / fit.scale).round() as i64;
    let top = (-fit.offset_y / fit.scale).round() as i64;
    let (w, h) = (image.width as i64, image.height as i64);
    let mut canvas = vec![0u8; (side * side * 3) as usize];
    let (x0, x1) = (left.max(0), (left + side).min(w));
    for y in top.max(0)..(top + side).min(h) {
        if x1 <= x0 {
            break;
        }
        let src = ((y * w + x0) * 3) as usize..((y * w + x1) * 3) as usize;
        let dst_start = (((y - top) * side + (x0 - left)) * 3) as usize;
        canvas[dst_start..dst_start + src.len()].copy_from_slice(&image.data[src]);
    }
    if side == fit.size as i64 {
        return RgbImage::from_raw(fit.size, fit.size, canvas);
    }
    let canvas = image::RgbImage::from_raw(side as u32, side as u32, canvas)
        .expect("the canvas holds side x side pixels");
    let out = image::imageops::resize(
        &canvas,
        fit.size,
        fit.size,
        image::imageops::FilterType::Triangle,
    );
    RgbImage::from_raw(fit.size, fit.size, out.into_raw())
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

    /// Mean and standard deviation of an image's red channel.
    fn red_stats(image: &RgbImage) -> (f64, f64) {
        let red: Vec<f64> = image.data.iter().step_by(3).map(|&v| v as f64).collect();
        let mean = red.iter().sum::<f64>() / red.len() as f64;
        let var = red.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / red.len() as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn a_large_reduction_averages_fine_texture_instead_of_aliasing() {
        // One-pixel stripes (a knit, a striped shirt) reduced 4.5x: the truth at that size
        // is an even grey; sampling without a prefilter picks stripes and makes bands.
        let (w, h) = (1152u32, 1152u32);
        let mut img = RgbImage::filled(w, h, [0, 0, 0]);
        for (i, px) in img.data.chunks_exact_mut(3).enumerate() {
            if (i % w as usize) % 2 == 0 {
                px.copy_from_slice(&[255, 255, 255]);
            }
        }
        let fit = PanelFit::crop(576.0, 576.0, 1152.0, 256);
        let (mean, std) = red_stats(&crop_resampled(&img, &fit));
        let (_, aliased) = red_stats(&letterbox(&img, &fit));
        println!("filtered: mean {mean:.1}, std {std:.1}; two-tap: std {aliased:.1}");
        assert!((mean - 127.5).abs() < 3.0 && std < 8.0, "{mean} {std}");
        assert!(
            aliased > 4.0 * std.max(1.0),
            "the two-tap sampler no longer aliases"
        );
    }

    #[test]
    fn a_crop_beyond_the_frame_is_black_and_a_same_size_crop_is_exact() {
        let mut img = RgbImage::filled(64, 96, [10, 20, 30]);
        img.data[(17 * 64 + 5) * 3] = 200;
        // Square of the smaller side, centred: rows 16..80, an exact copy.
        let out = crop_resampled(&img, &PanelFit::crop(32.0, 48.0, 64.0, 64));
        assert_eq!(out.pixel(5, 1), [200, 20, 30]);
        assert_eq!(out.pixel(40, 40), [10, 20, 30]);
        // A crop reaching 32 px left of the frame: that part black.
        let out = crop_resampled(&img, &PanelFit::crop(0.0, 48.0, 64.0, 32));
        assert_eq!(out.pixel(4, 16), [0, 0, 0]);
        assert_eq!(out.pixel(28, 16), [10, 20, 30]);
    }
}
