//! Stand-ins for builds without GStreamer: same signatures, each a clear error.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::{InputSpec, OutputSpec, StreamError};
use crate::endpoints::{FrameSink, FrameSource, OutputFrame};
use crate::Frame;

/// What the input holds (never produced without GStreamer).
#[derive(Debug, Clone)]
pub struct InputInfo {
    pub width: u32,
    pub height: u32,
    /// Frame rate as numerator and denominator, where the input declares one.
    pub fps: Option<(i32, i32)>,
    pub duration: Option<Duration>,
    pub has_audio: bool,
}

impl InputInfo {
    pub fn estimated_frames(&self) -> Option<u64> {
        None
    }
}

pub struct FileInput {
    pub info: InputInfo,
}

pub struct FileOutput;

pub fn open_input(_spec: &InputSpec, _stop: Arc<AtomicBool>) -> Result<FileInput, StreamError> {
    Err(StreamError::Disabled)
}

pub fn open_output(
    _spec: &OutputSpec,
    _frame_size: (u32, u32),
    _fps: Option<(i32, i32)>,
    _input: Option<&mut FileInput>,
) -> Result<FileOutput, StreamError> {
    Err(StreamError::Disabled)
}

impl FileInput {
    pub fn into_source(self) -> Box<dyn FrameSource> {
        Box::new(Never)
    }
}

struct Never;

impl FrameSource for Never {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        Err(StreamError::Disabled)
    }
}

impl FrameSink for FileOutput {
    fn write(&mut self, _frame: &OutputFrame) -> Result<(), StreamError> {
        Err(StreamError::Disabled)
    }
    fn finish(&mut self) -> Result<(), StreamError> {
        Err(StreamError::Disabled)
    }
}
