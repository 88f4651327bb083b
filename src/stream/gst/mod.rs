//! The GStreamer half: decoded frames from a file, camera or stream ([`input`]), and
//! frames encoded into a file, a window, a virtual camera or nowhere ([`output`]), or served
//! over RTSP ([`rtsp`]).
//!
//! Two pipelines, joined by metapix's stages: the input ends in an appsink, the output
//! starts with an appsrc. The input's audio skips the stages: its appsink's callbacks push
//! each buffer, timestamps untouched, into the output's audio appsrc, so it stays in sync.
//! The launch descriptions are the files in `pipelines/`, compiled in.

mod common;
mod input;
mod live;
mod output;
mod rtsp;

pub use input::{open_input, open_input_within, FileInput};
pub use output::{open_output, open_sink, FileOutput};

const DECODE_FILE: &str = include_str!("../../../pipelines/decode-file.gst");
const DECODE_URL: &str = include_str!("../../../pipelines/decode-url.gst");
const CAPTURE_V4L2: &str = include_str!("../../../pipelines/capture-v4l2.gst");
const VIDEO_BRANCH: &str = include_str!("../../../pipelines/video-branch.gst");
const AUDIO_BRANCH: &str = include_str!("../../../pipelines/audio-branch.gst");
const ENCODE_MP4: &str = include_str!("../../../pipelines/encode-mp4.gst");
const ENCODE_MKV: &str = include_str!("../../../pipelines/encode-mkv.gst");
const ENCODE_WEBM: &str = include_str!("../../../pipelines/encode-webm.gst");
const ENCODE_NULL: &str = include_str!("../../../pipelines/encode-null.gst");
const SHOW_DISPLAY: &str = include_str!("../../../pipelines/show-display.gst");
const SHOW_V4L2: &str = include_str!("../../../pipelines/show-v4l2.gst");
const AUDIO_AAC: &str = include_str!("../../../pipelines/audio-aac.gst");
const AUDIO_OPUS: &str = include_str!("../../../pipelines/audio-opus.gst");
