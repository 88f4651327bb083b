//! Outputs: frames pushed into an appsrc and encoded to a file, shown in a window, sent to a
//! virtual camera or dropped, with the input's audio carried over to files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::{AppSink, AppSinkCallbacks, AppSrc};

use super::common::{
    appsrc, bus_error, element, frame_buffer, init, launch, rgb_caps, stream_time,
};
use super::common::{wait_for, BusEnd};
use super::input::FileInput;
use super::rtsp;
use super::{AUDIO_AAC, AUDIO_OPUS, ENCODE_MKV, ENCODE_MP4, ENCODE_NULL, ENCODE_WEBM};
use super::{SHOW_DISPLAY, SHOW_V4L2};
use crate::stream::endpoints::FrameSink;
use crate::stream::{Container, OutputSpec, StreamError};
use crate::Frame;

/// How long the muxer may take to write its index after the last frame.
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

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
        // Live outputs (a window, a virtual camera) sit behind leaky queues that accept
        // buffers after their sink has failed, so a failure shows only on the bus: look
        // there first (a non-blocking peek) rather than wait for a refused push.
        if let Some(reason) = bus_error(&self.pipeline) {
            return Err(StreamError::Encode(reason));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbImage;
    use std::time::Instant;

    /// An output from a launch description, started as open_output starts one.
    fn started(description: &str, frame_size: (u32, u32)) -> FileOutput {
        init().unwrap();
        let pipeline = launch(description).unwrap();
        let frames = appsrc(&pipeline, "frames").unwrap();
        frames.set_caps(Some(&rgb_caps(frame_size, Some((30, 1)))));
        pipeline.set_state(gst::State::Playing).unwrap();
        FileOutput {
            pipeline,
            frames,
            audio: None,
            input: None,
            stop: Arc::default(),
            fps: Some((30, 1)),
            finished: false,
        }
    }

    #[test]
    fn a_live_output_that_fails_behind_its_leaky_queue_says_so() {
        // The display and virtual-camera pipelines' front (a leaky appsrc and queue) before
        // a sink that fails on its first buffer, as a closed window or a removed device
        // does: pushes go on being accepted, and only the bus knows.
        let live_front = SHOW_V4L2.split("! videoconvert").next().unwrap().trim();
        let description = format!("{live_front} ! filesink location=/dev/full");
        let mut output = started(&description, (16, 16));
        let started_at = Instant::now();
        let mut failed = None;
        for index in 0..200u64 {
            let frame = Frame {
                index,
                pts: None,
                duration: None,
                arrived: Instant::now(),
                image: RgbImage::filled(16, 16, [index as u8, 0, 0]),
            };
            if let Err(e) = output.write(&frame) {
                failed = Some((index, e));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let (index, error) = failed.expect("the failed sink was never reported");
        println!(
            "reported at frame {index} after {:?}: {error}",
            started_at.elapsed()
        );
        assert!(error.to_string().contains("encoding failed"), "{error}");
    }
}
