//! A synthetic person as a video source, so the pipeline can run without footage.

use std::time::{Duration, Instant};

use super::{SyntheticPerson, MIN_SIZE};
use crate::stream::endpoints::FrameSource;
use crate::stream::StreamError;
use crate::{Frame, Skeleton};

/// Renders frames `0..frames` of a person at a fixed rate, like a decoded file would.
#[derive(Debug, Clone)]
pub struct SyntheticSource {
    person: SyntheticPerson,
    width: u32,
    height: u32,
    fps: (i32, i32),
    frames: u64,
    next: u64,
}

impl SyntheticSource {
    /// `fps` is (numerator, denominator); a non-positive part falls back to 30/1 rather than
    /// failing, since a synthetic source has no bad input to report. Sides below
    /// [`MIN_SIZE`] are raised to it.
    pub fn new(
        person: SyntheticPerson,
        width: u32,
        height: u32,
        fps: (i32, i32),
        frames: u64,
    ) -> Self {
        let fps = if fps.0 > 0 && fps.1 > 0 { fps } else { (30, 1) };
        Self {
            person,
            width: width.max(MIN_SIZE),
            height: height.max(MIN_SIZE),
            fps,
            frames,
            next: 0,
        }
    }

    pub fn person(&self) -> &SyntheticPerson {
        &self.person
    }

    /// Frame size (width, height) in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn fps(&self) -> (i32, i32) {
        self.fps
    }

    /// Number of frames the source yields.
    pub fn len(&self) -> u64 {
        self.frames
    }

    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Presentation time of frame `index`, exact to the nanosecond.
    pub fn pts(&self, index: u64) -> Duration {
        let (num, den) = (self.fps.0 as u128, self.fps.1 as u128);
        let nanos = index as u128 * den * 1_000_000_000 / num;
        Duration::from_nanos(nanos.min(u64::MAX as u128) as u64)
    }

    /// One frame's duration, 1 / fps.
    pub fn frame_duration(&self) -> Duration {
        let (num, den) = (self.fps.0 as u64, self.fps.1 as u64);
        Duration::from_nanos(den * 1_000_000_000 / num)
    }

    /// The exact skeleton drawn in frame `index` (any index, not only those yielded).
    pub fn ground_truth(&self, index: u64) -> Skeleton {
        self.person
            .skeleton(self.time(index), self.width, self.height)
    }

    fn time(&self, index: u64) -> f32 {
        self.pts(index).as_secs_f64() as f32
    }
}

impl FrameSource for SyntheticSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        if self.next >= self.frames {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let (image, _) = self
            .person
            .render(self.time(index), self.width, self.height);
        Ok(Some(Frame {
            index,
            pts: Some(self.pts(index)),
            duration: Some(self.frame_duration()),
            arrived: Instant::now(),
            image,
        }))
    }
}
