//! The two ends of the stage graph, as traits: where frames come from and where they go.
//! GStreamer implements both; tests and benchmarks use in-memory ones.

use crate::stream::StreamError;
use crate::Frame;

/// Where frames come from (a decoder, a camera, a synthetic person).
pub trait FrameSource: Send {
    /// The next frame, or None at the end of the input.
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError>;
}

/// Where output frames go (an encoder, a server, nowhere).
pub trait FrameSink {
    /// Writes one output frame (its timing is the input frame's it was made from).
    fn write(&mut self, frame: &Frame) -> Result<(), StreamError>;
    /// Flushes and closes the output; called once after the last frame.
    fn finish(&mut self) -> Result<(), StreamError>;
}
