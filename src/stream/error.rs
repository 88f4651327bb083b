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
    #[error("camera {0} not found: is it plugged in? (ls /dev/video*)")]
    CameraNotFound(PathBuf),
    #[error("virtual camera {0} not found: load v4l2loopback first (sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=metapix exclusive_caps=1)")]
    VirtualCameraNotFound(PathBuf),
    #[error(
        "display: no desktop to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    )]
    NoDesktop,
    #[error("{0}: {1}")]
    BadUrl(String, String),
    #[error("{0}")]
    BadTestSrc(String),
    #[error("cannot open {input}: {reason}")]
    InputUnreachable { input: String, reason: String },
    #[error("cannot serve {url}: {reason}")]
    Serve { url: String, reason: String },
    #[error("GStreamer: {0}")]
    Gstreamer(String),
    #[error(
        "this build has no GStreamer support: rebuild with the `gstreamer` feature (on by default)"
    )]
    Disabled,
}
