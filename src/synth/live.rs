//! `testsrc`: the demo dancer as a live camera, with a frame counter and capture time
//! stamped into every frame ([`crate::base::stamp`]).
//!
//! Like a camera, it delivers frames on its own clock and never waits for the stages after
//! it: frame `n` is due at `start + n / fps`; a frame late for its slot goes out at once, and
//! the schedule restarts from then rather than bursting to catch up.
//!
//! Like a camera, it also costs next to nothing: a few seconds of the dance are drawn once at
//! start and played in a loop, so the source does not take CPU from the stages it measures
//! (drawing 640x480 live took about a third of one of this machine's two cores).

use std::time::{Duration, Instant};

use super::SyntheticPerson;
use crate::base::stamp::{self, Stamp};
use crate::stream::endpoints::FrameSource;
use crate::stream::StreamError;
use crate::{Frame, RgbImage};

/// Seconds of dance drawn ahead and looped.
const LOOP_SECONDS: u32 = 2;
/// Memory the loop may take.
const LOOP_BYTES: usize = 64 << 20;

/// A live synthetic camera.
pub struct LiveTestSource {
    frames: Vec<RgbImage>,
    period: Duration,
    start: Instant,
    /// When the next frame is due.
    due: Instant,
    next: u64,
}

impl LiveTestSource {
    /// The demo dancer at `size`, `fps` frames a second (fps > 0).
    pub fn new(size: (u32, u32), fps: u32) -> Self {
        let fps = fps.max(1);
        let person = SyntheticPerson::demo();
        let frame_bytes = size.0 as usize * size.1 as usize * 3;
        let count = (fps * LOOP_SECONDS).min((LOOP_BYTES / frame_bytes.max(1)).max(1) as u32);
        let frames = (0..count)
            .map(|i| person.render(i as f32 / fps as f32, size.0, size.1).0)
            .collect();
        let now = Instant::now();
        Self {
            frames,
            period: Duration::from_secs(1) / fps,
            start: now,
            due: now,
            next: 0,
        }
    }
}

impl FrameSource for LiveTestSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        if let Some(wait) = self.due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let captured = Instant::now();
        let mut image = self.frames[(self.next % self.frames.len() as u64) as usize].clone();
        stamp::write(&mut image, Stamp::now(self.next as u32));
        let frame = Frame {
            index: self.next,
            pts: Some(captured.duration_since(self.start)),
            duration: Some(self.period),
            arrived: captured,
            image,
        };
        self.next += 1;
        self.due = (self.due + self.period).max(Instant::now());
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_at_the_rate_and_carry_their_counter() {
        let mut source = LiveTestSource::new((128, 128), 50);
        let started = Instant::now();
        for i in 0..5u32 {
            let frame = source.next_frame().unwrap().unwrap();
            let stamp = stamp::read_rgb(&frame.image).expect("stamped");
            assert_eq!(stamp.counter, i);
        }
        // Five frames at 50 fps: the fifth is due 80 ms after the first.
        assert!(started.elapsed() >= Duration::from_millis(79));
    }
}
