//! What every GStreamer pipeline of metapix needs: initialisation, launching a description
//! with a clear error for a missing plugin, finding named elements, and reading the bus.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::AppSrc;

use crate::stream::StreamError;

pub(crate) fn init() -> Result<(), StreamError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(StreamError::Gstreamer)
}

/// Parses a launch description, naming a missing element and the package that has it.
pub(crate) fn launch(description: &str) -> Result<gst::Pipeline, StreamError> {
    let element = gst::parse::launch(description.trim()).map_err(|e| {
        let message = e.message().to_string();
        match message
            .split('"')
            .nth(1)
            .filter(|_| message.starts_with("no element"))
        {
            Some(name) => StreamError::MissingElement {
                element: name.to_string(),
                package: package_of(name),
            },
            None => StreamError::Gstreamer(message),
        }
    })?;
    // A description of one element (uridecodebin) parses to that element, not a pipeline.
    match element.downcast::<gst::Pipeline>() {
        Ok(pipeline) => Ok(pipeline),
        Err(element) => {
            let pipeline = gst::Pipeline::new();
            pipeline
                .add(&element)
                .map_err(|e| StreamError::Gstreamer(e.to_string()))?;
            Ok(pipeline)
        }
    }
}

/// The Debian package that ships a GStreamer element we use.
pub(crate) fn package_of(element: &str) -> &'static str {
    match element {
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "avenc_aac" => "gstreamer1.0-libav",
        "h264parse" => "gstreamer1.0-plugins-bad",
        "mp4mux" | "matroskamux" | "webmmux" | "vp8enc" | "v4l2src" | "v4l2sink" | "rtph264pay"
        | "autovideosink" | "rtspsrc" => "gstreamer1.0-plugins-good",
        _ => "gstreamer1.0-plugins-base",
    }
}

pub(crate) fn element(pipeline: &gst::Pipeline, name: &str) -> Result<gst::Element, StreamError> {
    pipeline
        .by_name(name)
        .ok_or_else(|| StreamError::Gstreamer(format!("pipeline has no element named {name}")))
}

pub(crate) fn appsrc(pipeline: &gst::Pipeline, name: &str) -> Result<AppSrc, StreamError> {
    element(pipeline, name)?
        .downcast::<AppSrc>()
        .map_err(|_| StreamError::Gstreamer(format!("element {name} is not an appsrc")))
}

/// Why waiting on a bus ended without the message we wanted.
pub(crate) enum BusEnd {
    Error(String),
    Eos,
    Timeout,
}

/// Waits for `kind` (or an error, or end of stream) on `pipeline`'s bus.
pub(crate) fn wait_for(
    pipeline: &gst::Pipeline,
    kind: gst::MessageType,
    timeout: Duration,
) -> Result<(), BusEnd> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let deadline = Instant::now() + timeout;
    let types = [kind, gst::MessageType::Error, gst::MessageType::Eos];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(left.as_nanos() as u64),
            &types,
        ) else {
            break;
        };
        match msg.view() {
            gst::MessageView::Error(err) => return Err(BusEnd::Error(describe(err))),
            _ if msg.type_() == kind => return Ok(()),
            gst::MessageView::Eos(_) => return Err(BusEnd::Eos),
            _ => {}
        }
    }
    Err(BusEnd::Timeout)
}

/// The first error waiting on the bus, if any, without blocking.
pub(crate) fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let msg = pipeline.bus()?.pop_filtered(&[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(err) => Some(describe(err)),
        _ => None,
    }
}

/// One line for a GStreamer error: the element and its message, not the debug dump.
pub(crate) fn describe(err: &gst::message::Error) -> String {
    let text = err.error().message().trim_end_matches('.').to_string();
    match err.src() {
        Some(src) => format!("{text} ({})", src.name()),
        None => text,
    }
}

/// Caps of the packed RGB frames metapix hands to an encoder.
pub(crate) fn rgb_caps(frame_size: (u32, u32), fps: Option<(i32, i32)>) -> gst::Caps {
    let (n, d) = fps.unwrap_or((0, 1));
    gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", frame_size.0 as i32)
        .field("height", frame_size.1 as i32)
        .field("framerate", gst::Fraction::new(n, d))
        .build()
}

/// A buffer holding `frame`'s pixels.
pub(crate) fn frame_buffer(frame: &crate::Frame) -> gst::Buffer {
    gst::Buffer::from_mut_slice(frame.image.data.clone())
}

/// A buffer time on the input's presentation timeline (what players and ffprobe show):
/// demuxers hand out media times, offset by edit lists and B-frame delays, and the sample's
/// segment maps them back. Video and audio both go through it, so they stay in sync.
pub(crate) fn stream_time(
    sample: &gst::Sample,
    pts: Option<gst::ClockTime>,
) -> Option<gst::ClockTime> {
    let pts = pts?;
    let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    segment.to_stream_time(pts).or(Some(pts))
}
