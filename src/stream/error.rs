//! Errors of decoding, encoding and streaming, one variant per cause the user can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("input not found: {0}")]
    InputNotFound(PathBuf),
    #[error("input is a directory, not a video file: {0}")]
    InputIsDirectory(PathBuf),
    #[error("cannot read input {path}: {reason}")]
    InputUnreadable { path: PathBuf, reason: String },
    #[error("input {path} is not a video we can read: {reason}")]
    NotAVideo { path: PathBuf, reason: String },
    #[error("input {0} has no video stream")]
    NoVideoStream(PathBuf),
    #[error("input {path} ended early, after {frames} frames ({decoded:.2} s of the {declared:.2} s it declares): the file looks truncated; the output holds what was read")]
    Truncated {
        path: PathBuf,
        frames: u64,
        decoded: f64,
        declared: f64,
    },
    #[error("decoding failed: {0}")]
    Decode(String),
    #[error("unknown output type for {0}: use a .mp4, .mkv or .webm file, or null")]
    UnknownOutputExtension(PathBuf),
    #[error("output directory does not exist: {0}")]
    OutputDirMissing(PathBuf),
    #[error("cannot write output {path}: {reason}")]
    OutputNotWritable { path: PathBuf, reason: String },
    #[error("encoding failed: {0}")]
    Encode(String),
    #[error("GStreamer element {element} is missing: install {package} (make setup does)")]
    MissingElement {
        element: String,
        package: &'static str,
    },
    #[error("GStreamer: {0}")]
    Gstreamer(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "this build has no GStreamer support: rebuild with the `gstreamer` feature (on by default)"
    )]
    Disabled,
}
