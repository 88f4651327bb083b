//! Inputs: a file decoded and prerolled, or a camera or network stream started live, whose
//! frames leave through an appsink as packed RGB.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::AppSink;
use gstreamer_video::prelude::*;
use gstreamer_video::{VideoFrameRef, VideoInfo};

use super::common::{bus_error, element, init, launch, stream_time, wait_for, BusEnd};
use super::live::{self, wait_for_live_frames};
use super::{AUDIO_BRANCH, CAPTURE_V4L2, DECODE_FILE, DECODE_URL, VIDEO_BRANCH};
use crate::stream::endpoints::FrameSource;
use crate::stream::probe::unreachable_reason;
use crate::stream::{InputInfo, InputSpec, StreamError};
use crate::{Frame, RgbImage};

/// How long opening an input may take before we call it broken.
const PREROLL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting reader looks at the stop flag and the bus.
const POLL: Duration = Duration::from_millis(100);

/// An opened, prerolled input file.
pub struct FileInput {
    pub info: InputInfo,
    pub(super) pipeline: gst::Pipeline,
    frames: AppSink,
    pub(super) audio: Option<AppSink>,
    /// Set once an output forwards our audio: that output then stops this pipeline after
    /// the audio has drained, so dropping the frame reader must not cut it short.
    pub(super) audio_forwarded: bool,
    /// A camera or network stream: losing it ends the run instead of failing it.
    live: bool,
    pub(super) stop: Arc<AtomicBool>,
}

/// The branches decodebin's pads were linked to.
#[derive(Default)]
pub(super) struct Branches {
    pub(super) frames: Option<AppSink>,
    audio: Option<AppSink>,
}

/// Opens and prerolls `spec`, so that format errors surface here, before any output exists.
/// A live input (camera, URL) is started and waited for until its first frame's format is
/// known. Raising `stop` later ends the frame stream early.
pub fn open_input(spec: &InputSpec, stop: Arc<AtomicBool>) -> Result<FileInput, StreamError> {
    open_input_within(spec, stop, live::LIVE_START_TIMEOUT)
}

/// [`open_input`], giving a live input at most `limit` to answer and start (a reconnection
/// has only what is left of its window).
pub fn open_input_within(
    spec: &InputSpec,
    stop: Arc<AtomicBool>,
    limit: Duration,
) -> Result<FileInput, StreamError> {
    init()?;
    let pipeline = input_pipeline(spec)?;
    let live = spec.is_live();
    let branches = Arc::new(Mutex::new(Branches::default()));
    link_branches(&pipeline, &branches, !live)?;
    let failed = |reason: String| {
        let _ = pipeline.set_state(gst::State::Null);
        match spec {
            InputSpec::File(path) => StreamError::NotAVideo {
                path: path.clone(),
                reason,
            },
            _ => StreamError::InputUnreachable {
                input: spec.to_string(),
                // GStreamer's HTTP source says only "Internal data stream error".
                reason: match spec {
                    InputSpec::Url(url) => unreachable_reason(url, limit).unwrap_or(reason),
                    _ => reason,
                },
            },
        }
    };
    let (frames, audio) = if live {
        let frames = wait_for_live_frames(&pipeline, &branches, &stop, limit).map_err(failed)?;
        (frames, None)
    } else {
        let _ = pipeline.set_state(gst::State::Paused);
        wait_for(&pipeline, gst::MessageType::AsyncDone, PREROLL_TIMEOUT).map_err(|e| {
            failed(match e {
                BusEnd::Error(reason) => reason,
                BusEnd::Timeout => "timed out reading it".into(),
                BusEnd::Eos => "it holds no frames".into(),
            })
        })?;
        let mut b = branches.lock().expect("branch registry");
        let (frames, audio) = (b.frames.take(), b.audio.take());
        let Some(frames) = frames else {
            let _ = pipeline.set_state(gst::State::Null);
            let InputSpec::File(path) = spec else {
                unreachable!("only files preroll")
            };
            return Err(StreamError::NoVideoStream(path.clone()));
        };
        (frames, audio)
    };
    let caps = frames
        .static_pad("sink")
        .and_then(|p| p.current_caps())
        .ok_or_else(|| failed("no video format was negotiated".into()))?;
    let video = VideoInfo::from_caps(&caps).map_err(|e| failed(e.to_string()))?;
    let fps = video.fps();
    let info = InputInfo {
        width: video.width(),
        height: video.height(),
        fps: (fps.numer() > 0 && fps.denom() > 0).then(|| (fps.numer(), fps.denom())),
        duration: pipeline
            .query_duration::<gst::ClockTime>()
            .map(|t| Duration::from_nanos(t.nseconds())),
        has_audio: audio.is_some(),
    };
    Ok(FileInput {
        info,
        pipeline,
        frames,
        audio,
        audio_forwarded: false,
        live,
        stop,
    })
}

/// The input's pipeline, from its launch description, its source set to `spec`.
fn input_pipeline(spec: &InputSpec) -> Result<gst::Pipeline, StreamError> {
    match spec {
        InputSpec::File(path) => {
            let pipeline = launch(DECODE_FILE)?;
            element(&pipeline, "source")?.set_property("location", path);
            Ok(pipeline)
        }
        InputSpec::Camera(device) => {
            let pipeline = launch(CAPTURE_V4L2)?;
            element(&pipeline, "source")?.set_property("device", device);
            Ok(pipeline)
        }
        InputSpec::Url(url) => {
            let pipeline = launch(DECODE_URL)?;
            let decoder = element(&pipeline, "decoder")?;
            decoder.set_property("uri", url);
            // rtspsrc buffers 2 s by default; a live input wants its frames now.
            decoder.connect("source-setup", false, |args| {
                let source = args.get(1).and_then(|v| v.get::<gst::Element>().ok());
                if let Some(source) = source.filter(|s| s.has_property("latency")) {
                    source.set_property("latency", 0u32);
                }
                None
            });
            Ok(pipeline)
        }
        InputSpec::TestSrc(_) => Err(StreamError::Gstreamer(
            "testsrc is drawn by metapix, not opened with GStreamer".into(),
        )),
    }
}

/// Links each new decoder pad to a branch: the first video stream to the `frames` appsink,
/// the first audio stream (when `with_audio`) to the `audio` one; others stay unlinked.
fn link_branches(
    pipeline: &gst::Pipeline,
    branches: &Arc<Mutex<Branches>>,
    with_audio: bool,
) -> Result<(), StreamError> {
    let decoder = element(pipeline, "decoder")?;
    let weak = pipeline.downgrade();
    let linked = branches.clone();
    decoder.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let Some(caps) = pad.current_caps() else {
            return;
        };
        let kind = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let mut branches = linked.lock().expect("branch registry");
        let (description, name, slot) = if kind.starts_with("video/") && branches.frames.is_none() {
            (VIDEO_BRANCH, "frames", &mut branches.frames)
        } else if with_audio && kind.starts_with("audio/") && branches.audio.is_none() {
            (AUDIO_BRANCH, "audio", &mut branches.audio)
        } else {
            return; // extra streams (subtitles, second audio track) stay unlinked
        };
        // Failures here surface as "no video stream" or as bus errors at preroll.
        if let Ok(bin) = gst::parse::bin_from_description(description, true) {
            if pipeline.add(&bin).is_ok() && bin.sync_state_with_parent().is_ok() {
                if let Some(sink_pad) = bin.static_pad("sink") {
                    if pad.link(&sink_pad).is_ok() {
                        *slot = bin.by_name(name).and_then(|e| e.downcast::<AppSink>().ok());
                    }
                }
            }
        }
    });
    Ok(())
}

impl FileInput {
    /// Starts decoding and hands over the frame stream. Call after [`open_output`].
    pub fn into_source(self) -> Box<dyn FrameSource> {
        let _ = self.pipeline.set_state(gst::State::Playing);
        Box::new(FrameReader {
            input: self,
            index: 0,
            caps: None,
        })
    }
}

impl Drop for FileInput {
    fn drop(&mut self) {
        if self.audio_forwarded && !self.stop.load(Ordering::Relaxed) {
            return;
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Pulls decoded frames from the input's appsink.
struct FrameReader {
    input: FileInput,
    index: u64,
    caps: Option<(gst::Caps, VideoInfo)>,
}

impl FrameSource for FrameReader {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        loop {
            if self.input.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if let Some(sample) = self
                .input
                .frames
                .try_pull_sample(gst::ClockTime::from_nseconds(POLL.as_nanos() as u64))
            {
                let frame = self.convert(&sample)?;
                self.index += 1;
                return Ok(Some(frame));
            }
            if let Some(reason) = bus_error(&self.input.pipeline) {
                if self.input.live {
                    // A camera unplugged or a stream gone: this input ends (the run too,
                    // its output finished, unless --reconnect opens it again).
                    tracing::info!("input lost: {reason}");
                    return Ok(None);
                }
                return Err(StreamError::Decode(reason));
            }
            if self.input.frames.is_eos() {
                return Ok(None);
            }
        }
    }
}

impl FrameReader {
    /// Copies a sample into a packed RGB frame (GStreamer pads RGB rows to 4 bytes).
    fn convert(&mut self, sample: &gst::Sample) -> Result<Frame, StreamError> {
        let caps = sample
            .caps()
            .ok_or_else(|| StreamError::Decode("frame without format".into()))?;
        if self.caps.as_ref().is_none_or(|(c, _)| c.as_ref() != caps) {
            let info =
                VideoInfo::from_caps(caps).map_err(|e| StreamError::Decode(e.to_string()))?;
            self.caps = Some((caps.to_owned(), info));
        }
        let (_, info) = self.caps.as_ref().expect("set above");
        let buffer = sample
            .buffer()
            .ok_or_else(|| StreamError::Decode("empty sample".into()))?;
        let vframe = VideoFrameRef::from_buffer_ref_readable(buffer, info)
            .map_err(|_| StreamError::Decode("unreadable frame buffer".into()))?;
        let (w, h) = (info.width() as usize, info.height() as usize);
        let stride = vframe.plane_stride()[0] as usize;
        let plane = vframe
            .plane_data(0)
            .map_err(|e| StreamError::Decode(e.to_string()))?;
        let mut data = Vec::with_capacity(w * h * 3);
        for row in plane.chunks(stride).take(h) {
            data.extend_from_slice(&row[..w * 3]);
        }
        let ns = |t: Option<gst::ClockTime>| t.map(|t| Duration::from_nanos(t.nseconds()));
        let pts = stream_time(sample, buffer.pts());
        Ok(Frame {
            index: self.index,
            pts: ns(pts),
            duration: ns(buffer.duration()),
            arrived: Instant::now(),
            image: RgbImage::from_raw(w as u32, h as u32, data),
        })
    }
}
