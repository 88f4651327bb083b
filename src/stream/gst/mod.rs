//! The GStreamer half: a file decoded into RGB frames, and RGB frames encoded into a file.
//!
//! Two pipelines, joined by metapix's stages: the input ends in an appsink, the output
//! starts with an appsrc. The input's audio skips the stages: its appsink's callbacks push
//! each buffer, timestamps untouched, into the output's audio appsrc, so it stays in sync.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks, AppSrc};
use gstreamer_video::prelude::*;
use gstreamer_video::{VideoFrameRef, VideoInfo};

mod common;
mod live;
mod rtsp;

use common::{appsrc, bus_error, element, frame_buffer, init, launch, rgb_caps, wait_for, BusEnd};
use live::wait_for_live_frames;

use super::probe::unreachable_reason;
use super::{Container, InputInfo, InputSpec, OutputSpec, StreamError};
use crate::stream::endpoints::{FrameSink, FrameSource};
use crate::{Frame, RgbImage};

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

/// How long opening an input may take before we call it broken.
const PREROLL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the muxer may take to write its index after the last frame.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a waiting reader looks at the stop flag and the bus.
const POLL: Duration = Duration::from_millis(100);

/// An opened, prerolled input file.
pub struct FileInput {
    pub info: InputInfo,
    pipeline: gst::Pipeline,
    frames: AppSink,
    audio: Option<AppSink>,
    /// Set once an output forwards our audio: that output then stops this pipeline after
    /// the audio has drained, so dropping the frame reader must not cut it short.
    audio_forwarded: bool,
    /// A camera or network stream: losing it ends the run instead of failing it.
    live: bool,
    stop: Arc<AtomicBool>,
}

/// The branches decodebin's pads were linked to.
#[derive(Default)]
struct Branches {
    frames: Option<AppSink>,
    audio: Option<AppSink>,
}

/// Opens and prerolls `spec`, so that format errors surface here, before any output exists.
/// A live input (camera, URL) is started and waited for until its first frame's format is
/// known. Raising `stop` later ends the frame stream early.
pub fn open_input(spec: &InputSpec, stop: Arc<AtomicBool>) -> Result<FileInput, StreamError> {
    init()?;
    let pipeline = match spec {
        InputSpec::File(path) => {
            let pipeline = launch(DECODE_FILE)?;
            element(&pipeline, "source")?.set_property("location", path);
            pipeline
        }
        InputSpec::Camera(device) => {
            let pipeline = launch(CAPTURE_V4L2)?;
            element(&pipeline, "source")?.set_property("device", device);
            pipeline
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
            pipeline
        }
        InputSpec::TestSrc(_) => {
            return Err(StreamError::Gstreamer(
                "testsrc is drawn by metapix, not opened with GStreamer".into(),
            ))
        }
    };
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
                    InputSpec::Url(url) => unreachable_reason(url).unwrap_or(reason),
                    _ => reason,
                },
            },
        }
    };
    let (frames, audio) = if live {
        let frames = wait_for_live_frames(&pipeline, &branches, &stop).map_err(failed)?;
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
                    eprintln!("input lost: {reason}");
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

/// An output being written.
pub struct FileOutput {
    pipeline: gst::Pipeline,
    frames: AppSrc,
    audio: Option<AppSrc>,
    /// The input pipeline, whose audio must drain before the output ends.
    input: Option<gst::Pipeline>,
    stop: Arc<AtomicBool>,
    fps: Option<(i32, i32)>,
    finished: bool,
}

/// Builds and starts the output for frames of `frame_size` at `fps`, carrying the audio of
/// `input` (if given) over.
pub fn open_output(
    spec: &OutputSpec,
    frame_size: (u32, u32),
    fps: Option<(i32, i32)>,
    mut input: Option<&mut FileInput>,
) -> Result<FileOutput, StreamError> {
    init()?;
    let input_audio = match (&mut input, spec) {
        (Some(input), OutputSpec::File { .. }) => input.audio.take(),
        _ => None,
    };
    if let (Some(input), true) = (&mut input, input_audio.is_some()) {
        input.audio_forwarded = true;
    }
    let with_audio = input_audio.is_some();
    let description = match spec {
        OutputSpec::Null => ENCODE_NULL.to_string(),
        OutputSpec::Display => SHOW_DISPLAY.to_string(),
        OutputSpec::V4l2(_) => SHOW_V4L2.to_string(),
        OutputSpec::Rtsp(_) => {
            return Err(StreamError::Gstreamer(
                "an RTSP output is opened with open_sink".into(),
            ))
        }
        OutputSpec::File { container, .. } => {
            let (video, audio) = match container {
                Container::Mp4 => (ENCODE_MP4, AUDIO_AAC),
                Container::Mkv => (ENCODE_MKV, AUDIO_OPUS),
                Container::Webm => (ENCODE_WEBM, AUDIO_OPUS),
            };
            if with_audio {
                format!("{} {}", video.trim(), audio.trim())
            } else {
                video.to_string()
            }
        }
    };
    let pipeline = launch(&description)?;
    match spec {
        OutputSpec::File { path, .. } => element(&pipeline, "sink")?.set_property("location", path),
        OutputSpec::V4l2(device) => element(&pipeline, "sink")?.set_property("device", device),
        _ => {}
    }
    let frames = appsrc(&pipeline, "frames")?;
    frames.set_caps(Some(&rgb_caps(frame_size, fps)));

    let audio = if let Some(input_audio) = input_audio {
        let src = appsrc(&pipeline, "audio")?;
        src.set_caps(
            input_audio
                .static_pad("sink")
                .and_then(|p| p.current_caps())
                .as_ref(),
        );
        forward_audio(&input_audio, &src);
        Some(src)
    } else {
        None
    };

    let output_error = |reason: String| match spec {
        OutputSpec::File { path, .. } => StreamError::OutputNotWritable {
            path: path.clone(),
            reason,
        },
        _ => StreamError::Encode(format!("{spec}: {reason}")),
    };
    if pipeline.set_state(gst::State::Playing).is_err() {
        let reason = bus_error(&pipeline).unwrap_or_else(|| "the encoder would not start".into());
        let _ = pipeline.set_state(gst::State::Null);
        return Err(output_error(reason));
    }
    Ok(FileOutput {
        pipeline,
        frames,
        audio,
        input: input.as_ref().map(|i| i.pipeline.clone()),
        stop: input.as_ref().map(|i| i.stop.clone()).unwrap_or_default(),
        fps,
        finished: false,
    })
}

/// Opens any output as a frame sink: an RTSP server, or an encoding pipeline
/// ([`open_output`]).
pub fn open_sink(
    spec: &OutputSpec,
    frame_size: (u32, u32),
    fps: Option<(i32, i32)>,
    input: Option<&mut FileInput>,
) -> Result<Box<dyn FrameSink>, StreamError> {
    match spec {
        OutputSpec::Rtsp(address) => Ok(Box::new(rtsp::open(address, frame_size, fps)?)),
        _ => Ok(Box::new(open_output(spec, frame_size, fps, input)?)),
    }
}

/// Pushes every decoded audio buffer into the output as it arrives, then its end.
fn forward_audio(from: &AppSink, to: &AppSrc) {
    let (to_sample, to_eos) = (to.clone(), to.clone());
    from.set_callbacks(
        AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let mut buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                let pts = stream_time(&sample, buffer.pts());
                buffer.make_mut().set_pts(pts);
                to_sample.push_buffer(buffer).map(|_| gst::FlowSuccess::Ok)
            })
            .eos(move |_| {
                let _ = to_eos.end_of_stream();
            })
            .build(),
    );
}

impl FrameSink for FileOutput {
    fn write(&mut self, frame: &Frame) -> Result<(), StreamError> {
        let mut buffer = frame_buffer(frame);
        {
            let b = buffer.get_mut().expect("new buffer is writable");
            let period = self
                .fps
                .map(|(n, d)| Duration::from_secs_f64(d as f64 / n as f64));
            let pts = frame.pts.or_else(|| period.map(|p| p * frame.index as u32));
            b.set_pts(pts.map(|t| gst::ClockTime::from_nseconds(t.as_nanos() as u64)));
            b.set_duration(
                frame
                    .duration
                    .or(period)
                    .map(|t| gst::ClockTime::from_nseconds(t.as_nanos() as u64)),
            );
        }
        self.frames.push_buffer(buffer).map_err(|flow| {
            StreamError::Encode(
                bus_error(&self.pipeline)
                    .unwrap_or_else(|| format!("encoder refused a frame: {flow:?}")),
            )
        })?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        // Let the input finish pushing its audio, unless the user asked us to stop now.
        if let Some(input) = &self.input {
            if self.audio.is_some() && !self.stop.load(Ordering::Relaxed) {
                let _ = wait_for(input, gst::MessageType::Eos, Duration::from_secs(10));
            }
            let _ = input.set_state(gst::State::Null);
        }
        if let Some(audio) = &self.audio {
            let _ = audio.end_of_stream(); // already ended when the input reached its end
        }
        let _ = self.frames.end_of_stream();
        let outcome = match wait_for(&self.pipeline, gst::MessageType::Eos, FINISH_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(BusEnd::Error(reason)) => Err(StreamError::Encode(reason)),
            Err(BusEnd::Timeout) => {
                Err(StreamError::Encode("timed out finishing the output".into()))
            }
            Err(BusEnd::Eos) => Ok(()),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        outcome
    }
}

impl Drop for FileOutput {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// A buffer time on the input's presentation timeline (what players and ffprobe show):
/// demuxers hand out media times, offset by edit lists and B-frame delays, and the sample's
/// segment maps them back. Video and audio both go through it, so they stay in sync.
fn stream_time(sample: &gst::Sample, pts: Option<gst::ClockTime>) -> Option<gst::ClockTime> {
    let pts = pts?;
    let segment = sample.segment()?.downcast_ref::<gst::ClockTime>()?;
    segment.to_stream_time(pts).or(Some(pts))
}
