//! Stand-ins for builds without GStreamer: same signatures, each a clear error, except the
//! `null` output, which needs no GStreamer: a build for a machine without it (the GPU
//! machine) still runs `testsrc` to `null`, every stage but decoding and encoding.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::{InputInfo, InputSpec, OutputSpec, StreamError};
use crate::stream::endpoints::{FrameSink, FrameSource};
use crate::Frame;

pub struct FileInput {
    pub info: InputInfo,
}

pub struct FileOutput;

pub fn open_input(_spec: &InputSpec, _stop: Arc<AtomicBool>) -> Result<FileInput, StreamError> {
    Err(StreamError::Disabled)
}

pub fn open_input_within(
    _spec: &InputSpec,
    _stop: Arc<AtomicBool>,
    _limit: std::time::Duration,
) -> Result<FileInput, StreamError> {
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

pub fn open_sink(
    spec: &OutputSpec,
    _frame_size: (u32, u32),
    _fps: Option<(i32, i32)>,
    _input: Option<&mut FileInput>,
) -> Result<Box<dyn FrameSink>, StreamError> {
    match spec {
        OutputSpec::Null => Ok(Box::new(Discard)),
        _ => Err(StreamError::Disabled),
    }
}

/// `null`: frames handed over and dropped, as GStreamer's fakesink drops them.
struct Discard;

impl FrameSink for Discard {
    fn write(&mut self, _frame: &Frame) -> Result<(), StreamError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
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
    fn write(&mut self, _frame: &Frame) -> Result<(), StreamError> {
        Err(StreamError::Disabled)
    }
    fn finish(&mut self) -> Result<(), StreamError> {
        Err(StreamError::Disabled)
    }
}
