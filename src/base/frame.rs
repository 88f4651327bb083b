//! Video frames as the stages see them: packed RGB8 with their place in the stream.

use std::time::{Duration, Instant};

/// A decoded frame: packed RGB, rows of `width * 3` bytes, no padding.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in the input, counting from 0.
    pub index: u64,
    /// Presentation time in the input stream (None where the source gave none).
    pub pts: Option<Duration>,
    /// Frame duration where the source gave one.
    pub duration: Option<Duration>,
    /// When the frame entered metapix; end-to-end latency is measured from here.
    pub arrived: Instant,
    pub image: RgbImage,
}

/// A packed RGB8 image.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbImage {
    /// An image filled with one colour.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Self {
        let data = rgb
            .iter()
            .copied()
            .cycle()
            .take(width as usize * height as usize * 3)
            .collect();
        Self {
            width,
            height,
            data,
        }
    }

    /// Wraps packed RGB bytes; panics only on a length that contradicts the size, which is a
    /// programming error rather than bad input.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> Self {
        assert_eq!(
            data.len(),
            width as usize * height as usize * 3,
            "RGB buffer size"
        );
        Self {
            width,
            height,
            data,
        }
    }

    /// Reads a PNG or JPEG from disk.
    pub fn open(path: &std::path::Path) -> Result<Self, image::ImageError> {
        let img = image::open(path)?.into_rgb8();
        let (width, height) = img.dimensions();
        Ok(Self {
            width,
            height,
            data: img.into_raw(),
        })
    }

    /// Writes a PNG (for looking at what a stage produced).
    pub fn save_png(&self, path: &std::path::Path) -> Result<(), image::ImageError> {
        image::save_buffer(
            path,
            &self.data,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
        )
    }

    #[inline]
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Copies `src` into this image with its top-left corner at (`x0`, `y0`), clipping.
    pub fn blit(&mut self, src: &RgbImage, x0: u32, y0: u32) {
        let w = src.width.min(self.width.saturating_sub(x0)) as usize;
        for y in 0..src.height.min(self.height.saturating_sub(y0)) as usize {
            let s = y * src.width as usize * 3;
            let d = ((y0 as usize + y) * self.width as usize + x0 as usize) * 3;
            self.data[d..d + w * 3].copy_from_slice(&src.data[s..s + w * 3]);
        }
    }
}
