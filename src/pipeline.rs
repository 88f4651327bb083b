//! The stage graph: source -> pose -> render -> sink, joined by bounded channels.
//!
//! Each stage is a plain processor run on its own thread by [`spawn_stage`], which times it.
//! Shutdown follows the channels: when the source ends (or `stop` is raised) it drops its
//! sender, each stage drains and drops its own, and the sink finishes the output. A stage
//! that fails drops its receiver, which stops the stages before it; its error reaches the
//! caller. File inputs block rather than drop, so every input frame becomes an output frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver};

pub use crate::endpoints::{FrameSink, FrameSource};
use crate::generate::Generator;
use crate::pose::{PoseError, PoseEstimator};
use crate::render::{View, ViewRenderer};
use crate::stats::{LatencyHistogram, RunStats};
use crate::stream::StreamError;
use crate::{Frame, Skeleton};

/// Frames waiting between two stages. Small: latency, not throughput, is what queues buy.
pub const CHANNEL_CAPACITY: usize = 2;

/// Why a run failed, by the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Pose(#[from] PoseError),
    #[error("stage {0} stopped unexpectedly")]
    StagePanicked(&'static str),
}

/// Frame spacing assumed for smoothing when the source gives no timestamps.
const FALLBACK_PERIOD: Duration = Duration::from_nanos(33_333_333);

/// A frame and the pose found in it.
struct Posed {
    frame: Frame,
    skeleton: Skeleton,
    generated: Option<crate::RgbImage>,
}

/// The settings of one run of the graph.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub view: View,
    /// Side of one square panel in pixels.
    pub size: u32,
}

/// Counts and timings of a finished run.
#[derive(Debug, Default)]
pub struct GraphReport {
    pub frames_in: u64,
    pub frames_out: u64,
    pub frames_without_person: u64,
    pub pose: LatencyHistogram,
    pub generate: LatencyHistogram,
    pub render: LatencyHistogram,
    pub sink: LatencyHistogram,
    pub end_to_end: LatencyHistogram,
    pub wall: Duration,
    /// Where in the input the last frame written ends (its timestamp plus duration).
    pub input_end: Option<Duration>,
}

impl GraphReport {
    /// The summary `--stats` writes.
    pub fn to_stats(&self, input: String, output: String, interrupted: bool) -> RunStats {
        let secs = self.wall.as_secs_f64();
        let stages = [
            ("pose", &self.pose),
            ("generate", &self.generate),
            ("render", &self.render),
            ("encode", &self.sink),
        ]
        .into_iter()
        .filter(|(_, h)| h.count() > 0)
        .map(|(name, h)| (name.to_string(), h.summary()))
        .collect();
        RunStats {
            input,
            output,
            frames_in: self.frames_in,
            frames_out: self.frames_out,
            frames_dropped: self.frames_in.saturating_sub(self.frames_out),
            frames_without_person: self.frames_without_person,
            wall_seconds: secs,
            fps: if secs > 0.0 {
                self.frames_out as f64 / secs
            } else {
                0.0
            },
            stages,
            end_to_end: self.end_to_end.summary(),
            interrupted,
        }
    }
}

/// Runs `f` on every item of `input` on a new thread, sending results to the returned
/// receiver and timing each call.
pub fn spawn_stage<'scope, I, O, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &'static str,
    input: Receiver<I>,
    mut f: F,
) -> (
    Receiver<O>,
    ScopedJoinHandle<'scope, Result<LatencyHistogram, PipelineError>>,
)
where
    I: Send + 'scope,
    O: Send + 'scope,
    F: FnMut(I) -> Result<O, PipelineError> + Send + 'scope,
{
    let (tx, rx) = bounded(CHANNEL_CAPACITY);
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, move || {
            let _span = tracing::debug_span!("stage", name).entered();
            let mut latency = LatencyHistogram::default();
            for item in input {
                let start = Instant::now();
                let out = f(item)?;
                latency.record(start.elapsed());
                if tx.send(out).is_err() {
                    break; // downstream stopped; its error (if any) is reported by it
                }
            }
            Ok(latency)
        })
        .expect("spawning a stage thread");
    (rx, handle)
}

/// Runs the whole graph until the source ends or `stop` is raised, calling `progress` with
/// the number of frames written after each one. The caller loads `pose` first, so that a
/// missing model is reported before any output file exists.
pub fn run_graph(
    mut source: Box<dyn FrameSource>,
    mut pose: PoseEstimator,
    generator: Option<Generator>,
    sink: &mut dyn FrameSink,
    config: &GraphConfig,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<GraphReport, PipelineError> {
    let renderer = ViewRenderer::new(config.view, config.size);
    let started = Instant::now();
    let mut report = GraphReport::default();
    let without_person = std::sync::atomic::AtomicU64::new(0);

    std::thread::scope(|scope| -> Result<(), PipelineError> {
        let (frames_tx, frames_rx) = bounded::<Frame>(CHANNEL_CAPACITY);
        let source_handle = std::thread::Builder::new()
            .name("source".into())
            .spawn_scoped(scope, move || -> Result<u64, PipelineError> {
                let mut count = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Some(frame) = source.next_frame()? else {
                        break;
                    };
                    count += 1;
                    if frames_tx.send(frame).is_err() {
                        break;
                    }
                }
                Ok(count)
            })
            .expect("spawning the source thread");

        let without_person = &without_person;
        let (posed_rx, pose_handle) = spawn_stage(scope, "pose", frames_rx, move |frame: Frame| {
            let t = frame.pts.unwrap_or(FALLBACK_PERIOD * frame.index as u32);
            let skeleton = pose.process(&frame.image, t)?;
            if !skeleton.found() {
                without_person.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Posed {
                frame,
                skeleton,
                generated: None,
            })
        });
        let (posed_rx, generate_handle) = match generator {
            Some(mut generator) => {
                let (rx, handle) = spawn_stage(scope, "generate", posed_rx, move |mut p: Posed| {
                    let target = generator
                        .normalize(&p.skeleton, (p.frame.image.width, p.frame.image.height));
                    p.generated = Some(generator.generate(&target));
                    Ok(p)
                });
                (rx, Some(handle))
            }
            None => (posed_rx, None),
        };
        let (out_rx, render_handle) = spawn_stage(scope, "render", posed_rx, move |p: Posed| {
            Ok(Frame {
                index: p.frame.index,
                pts: p.frame.pts,
                duration: p.frame.duration,
                arrived: p.frame.arrived,
                image: renderer.render(&p.frame.image, &p.skeleton, p.generated.as_ref()),
            })
        });

        let mut sink_result: Result<(), PipelineError> = Ok(());
        for frame in out_rx.iter() {
            let start = Instant::now();
            if let Err(e) = sink.write(&frame) {
                sink_result = Err(e.into());
                break;
            }
            report.sink.record(start.elapsed());
            report.end_to_end.record(frame.arrived.elapsed());
            report.input_end = frame.pts.map(|t| t + frame.duration.unwrap_or_default());
            report.frames_out += 1;
            progress(report.frames_out);
        }
        drop(out_rx);
        let join = |h: ScopedJoinHandle<'_, Result<LatencyHistogram, PipelineError>>, name| {
            h.join().map_err(|_| PipelineError::StagePanicked(name))?
        };
        let source = source_handle
            .join()
            .map_err(|_| PipelineError::StagePanicked("source"));
        let pose = join(pose_handle, "pose");
        let generate = generate_handle.map(|h| join(h, "generate")).transpose();
        let render = join(render_handle, "render");
        // Whatever failed upstream, the frames written so far still make a playable file.
        let finished = match sink_result {
            Ok(()) => sink.finish().map_err(PipelineError::from),
            Err(e) => Err(e),
        };
        // The first failing stage explains the rest.
        report.frames_in = source??;
        report.pose = pose?;
        report.generate = generate?.unwrap_or_default();
        report.render = render?;
        finished?;
        Ok(())
    })?;
    report.frames_without_person = without_person.into_inner();
    report.wall = started.elapsed();
    Ok(report)
}
