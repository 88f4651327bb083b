//! The two ends of the stage graph, as traits: where frames come from and where they go.
//! GStreamer implements both; tests and benchmarks use in-memory ones.

use std::time::{Duration, Instant};

use crate::stream::StreamError;
use crate::{Frame, RgbImage};

/// Where frames come from (a decoder, a camera, a synthetic person).
pub trait FrameSource: Send {
    /// The next frame, or None at the end of the input.
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError>;
}

/// Where output frames go (an encoder, a server, nowhere).
pub trait FrameSink {
    fn write(&mut self, frame: &OutputFrame) -> Result<(), StreamError>;
    /// Flushes and closes the output; called once after the last frame.
    fn finish(&mut self) -> Result<(), StreamError>;
}

/// A frame ready for the encoder, with its timing from the input.
#[derive(Debug, Clone)]
pub struct OutputFrame {
    pub index: u64,
    pub pts: Option<Duration>,
    pub duration: Option<Duration>,
    pub arrived: Instant,
    pub image: RgbImage,
}
