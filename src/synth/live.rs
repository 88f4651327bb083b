//! `testsrc`: the demo dancer as a live camera, with a frame counter and capture time
//! stamped into every frame ([`crate::stamp`]).
//!
//! Like a camera, it delivers frames on its own clock and never waits for the stages after
//! it: frame `n` is captured at `start + n / fps`; a frame that could not be drawn in time
//! goes out at once, and the schedule restarts from then rather than bursting to catch up.

use std::time::{Duration, Instant};

use super::SyntheticPerson;
use crate::endpoints::FrameSource;
use crate::stamp::{self, Stamp};
use crate::stream::StreamError;
use crate::Frame;

/// A live synthetic camera.
pub struct LiveTestSource {
    person: SyntheticPerson,
    size: (u32, u32),
    period: Duration,
    start: Instant,
    /// When the next frame is due.
    due: Instant,
    next: u64,
}

impl LiveTestSource {
    /// The demo dancer at `size`, `fps` frames a second (fps > 0).
    pub fn new(size: (u32, u32), fps: u32) -> Self {
        let now = Instant::now();
        Self {
            person: SyntheticPerson::demo(),
            size,
            period: Duration::from_secs(1) / fps.max(1),
            start: now,
            due: now,
            next: 0,
        }
    }
}

impl FrameSource for LiveTestSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        let now = Instant::now();
        if let Some(wait) = self.due.checked_duration_since(now) {
            std::thread::sleep(wait);
        }
        // The dance follows the wall clock, as a real person would.
        let t = Instant::now().duration_since(self.start);
        let (mut image, _) = self
            .person
            .render(t.as_secs_f32(), self.size.0, self.size.1);
        // Captured once drawn, as a camera's frame counts from its delivery: drawing the
        // dancer stands for the exposure, which is not metapix's latency.
        let captured = Instant::now();
        stamp::write(&mut image, Stamp::now(self.next as u32));
        let frame = Frame {
            index: self.next,
            pts: Some(t),
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
