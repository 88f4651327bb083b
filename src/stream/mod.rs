//! Decoding, encoding and streaming with GStreamer.
//!
//! The GStreamer half sits behind the `gstreamer` cargo feature (on by default): the GPU
//! machine has no GStreamer, and training and benchmarks must still build there. Without the
//! feature, `disabled` offers the same functions, each returning [`StreamError::Disabled`], so
//! callers need no `#[cfg]`.

pub mod endpoints;
mod error;
mod info;
pub mod probe;
pub mod reconnect;
mod spec;

#[cfg(feature = "gstreamer")]
mod gst;
#[cfg(feature = "gstreamer")]
pub use gst::{open_input, open_input_within, open_output, open_sink, FileInput, FileOutput};

#[cfg(not(feature = "gstreamer"))]
mod disabled;
#[cfg(not(feature = "gstreamer"))]
pub use disabled::{open_input, open_input_within, open_output, open_sink, FileInput, FileOutput};

pub use endpoints::{FrameSink, FrameSource};
pub use error::StreamError;
pub use info::InputInfo;
pub use spec::{
    check_output_dir, Container, InputSpec, OutputSpec, RtspAddress, TestSrc, DEFAULT_RTSP_PORT,
};
