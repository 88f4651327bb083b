//! A frame counter and a capture time stamped into a frame's pixels as a bar code, so that a
//! client at the far end of an encoder and a network (an RTSP player) can read them back and
//! measure glass-to-glass latency on the same machine's clock.
//!
//! Layout: three rows of 32 square cells across the top of the frame, each cell white for
//! a 1 bit and black for a 0, most significant bit first: the frame counter, the capture
//! time (milliseconds of the Unix clock, modulo 2^32) and a check word (both XORed with
//! [`CHECK`]). Cells are `width / 32` pixels wide, large enough to survive scaling and H.264
//! at the sizes metapix serves. `scripts/glass-to-glass.py` decodes the same layout.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::RgbImage;

/// Bits per row.
pub const BITS: u32 = 32;
/// Rows: counter, time, check.
pub const ROWS: u32 = 3;
/// Mixed into the check row so that an all-black or all-white strip never reads as valid.
pub const CHECK: u32 = 0x5a5a_a5a5;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub counter: u32,
    /// Capture time: Unix milliseconds modulo 2^32.
    pub millis: u32,
}

impl Stamp {
    /// A stamp for frame `counter` captured now.
    pub fn now(counter: u32) -> Self {
        Self {
            counter,
            millis: wall_millis(),
        }
    }

    fn rows(self) -> [u32; ROWS as usize] {
        [
            self.counter,
            self.millis,
            self.counter ^ self.millis ^ CHECK,
        ]
    }
}

/// Unix time in milliseconds modulo 2^32 (wraps every 49.7 days; differences stay right).
pub fn wall_millis() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    now.as_millis() as u32
}

/// Side of one cell for a frame `width` pixels wide (None when too narrow to stamp).
pub fn cell(width: u32) -> Option<u32> {
    let side = width / BITS;
    (side >= 2).then_some(side)
}

/// Paints `stamp` into the top rows of `image` (nothing happens on a frame too small).
pub fn write(image: &mut RgbImage, stamp: Stamp) {
    let Some(side) = cell(image.width) else {
        return;
    };
    if image.height < side * ROWS {
        return;
    }
    let width = image.width as usize;
    for (row, word) in stamp.rows().into_iter().enumerate() {
        for bit in 0..BITS {
            let on = word >> (BITS - 1 - bit) & 1 == 1;
            let value = if on { 255 } else { 0 };
            for y in row as u32 * side..(row as u32 + 1) * side {
                let start = (y as usize * width + (bit * side) as usize) * 3;
                image.data[start..start + side as usize * 3].fill(value);
            }
        }
    }
}

/// Reads a stamp from packed RGB; None when there is none or it does not check out.
pub fn read_rgb(image: &RgbImage) -> Option<Stamp> {
    let width = image.width as usize;
    read(image.width, image.height, |x, y| {
        let i = (y as usize * width + x as usize) * 3;
        let p = &image.data[i..i + 3];
        (p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29) >> 8
    })
}

/// Reads a stamp from an 8-bit grey (luma) plane with rows of `stride` bytes.
pub fn read_gray(data: &[u8], width: u32, height: u32, stride: usize) -> Option<Stamp> {
    if data.len() < stride * height as usize {
        return None;
    }
    read(width, height, |x, y| {
        data[y as usize * stride + x as usize] as u32
    })
}

/// Thresholds the middle half of every cell, so blur at cell edges does not matter.
fn read(width: u32, height: u32, luma: impl Fn(u32, u32) -> u32) -> Option<Stamp> {
    let side = cell(width)?;
    if height < side * ROWS {
        return None;
    }
    let (from, to) = (side / 4, (side * 3).div_ceil(4).max(side / 4 + 1));
    let mut rows = [0u32; ROWS as usize];
    for (row, word) in rows.iter_mut().enumerate() {
        for bit in 0..BITS {
            let (x0, y0) = (bit * side, row as u32 * side);
            let (mut sum, mut n) = (0, 0);
            for y in y0 + from..y0 + to {
                for x in x0 + from..x0 + to {
                    sum += luma(x, y);
                    n += 1;
                }
            }
            *word = (*word << 1) | u32::from(sum > 128 * n);
        }
    }
    let stamp = Stamp {
        counter: rows[0],
        millis: rows[1],
    };
    (stamp.rows()[2] == rows[2]).then_some(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_back_in_rgb_and_grey() {
        for (w, h) in [(64, 64), (256, 256), (640, 480), (100, 50)] {
            let mut image = RgbImage::filled(w, h, [90, 140, 200]);
            let stamp = Stamp {
                counter: 123_456,
                millis: 0xdead_beef,
            };
            write(&mut image, stamp);
            assert_eq!(read_rgb(&image), Some(stamp), "{w}x{h}");
            let grey: Vec<u8> = image.data.chunks(3).map(|p| p[1]).collect();
            assert_eq!(read_gray(&grey, w, h, w as usize), Some(stamp));
        }
    }

    #[test]
    fn unstamped_or_damaged_frames_read_as_none() {
        let image = RgbImage::filled(256, 256, [0, 0, 0]);
        assert_eq!(read_rgb(&image), None);
        assert_eq!(read_rgb(&RgbImage::filled(256, 256, [255; 3])), None);
        let mut stamped = RgbImage::filled(256, 256, [0, 0, 0]);
        write(&mut stamped, Stamp::now(7));
        // Flip one cell of the counter row.
        let side = cell(256).unwrap() as usize;
        for y in 0..side {
            let i = (y * 256 + 31 * side) * 3;
            let v = 255 - stamped.data[i];
            stamped.data[i..i + side * 3].fill(v);
        }
        assert_eq!(read_rgb(&stamped), None);
        assert_eq!(read_rgb(&RgbImage::filled(40, 40, [0; 3])), None);
    }
}
