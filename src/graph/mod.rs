//! The stage graph: source -> pose -> generate -> render -> sink, joined by bounded links.
//!
//! Each stage is a plain processor run on its own thread by [`spawn_stage`], which times it.
//! Shutdown follows the links: when the source ends (or `stop` is raised) it drops its
//! sender, each stage drains and drops its own, and the sink finishes the output. A stage
//! that fails drops its receiver, which stops the stages before it; its error reaches the
//! caller. File inputs block rather than drop, so every input frame becomes an output frame;
//! live inputs drop the stalest waiting frame at any link that is full ([`crate::graph::link`]),
//! and frames older than `max_latency` never reach the generator. Every drop is counted.

pub mod link;
pub mod meter;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use crate::base::stats::{LatencyHistogram, RunStats, StageClock};
use crate::generate::Generator;
use crate::pose::{PoseError, PoseEstimator};
use crate::render::{View, ViewRenderer};
pub use crate::stream::endpoints::{FrameSink, FrameSource};
use crate::stream::StreamError;
use crate::{Frame, Skeleton};
use link::{link, DropCounter, LinkReceiver, Policy};
use meter::Meter;

/// Frames waiting between two stages of a file run. Small: latency, not throughput, is
/// what queues buy.
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
/// How long the sink waits for a frame before giving `--verbose`'s meter a turn.
const METER_POLL: Duration = Duration::from_millis(250);

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
    /// A live source: links drop the stalest frame instead of blocking.
    pub live: bool,
    /// Live only: the latency budget from capture to the encoder. A frame that would exceed
    /// it (its age plus the generator's recent time per frame) is dropped before the
    /// generator.
    pub max_latency: Option<Duration>,
    /// Live only: copy the source's stamp ([`crate::base::stamp`]) into every output frame, so a
    /// client can measure glass-to-glass latency.
    pub carry_stamp: bool,
    /// Print rates, drops and latencies to stderr once a second.
    pub verbose: bool,
}

impl GraphConfig {
    fn policy(&self) -> Policy {
        if self.live {
            Policy::DropStalest
        } else {
            Policy::Block {
                capacity: CHANNEL_CAPACITY,
            }
        }
    }
}

/// Counts and timings of a finished run.
#[derive(Debug, Default)]
pub struct GraphReport {
    pub frames_in: u64,
    pub frames_out: u64,
    pub frames_without_person: u64,
    /// Frames dropped, by the stage that could not take them (`late`: over the budget).
    pub drops: BTreeMap<String, u64>,
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
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        RunStats {
            input,
            output,
            frames_in: self.frames_in,
            frames_out: self.frames_out,
            frames_dropped: self.drops.values().sum(),
            drops: self.drops.clone(),
            frames_without_person: self.frames_without_person,
            wall_seconds: secs,
            fps: rate(self.frames_out),
            fps_in: rate(self.frames_in),
            stages,
            end_to_end: self.end_to_end.summary(),
            interrupted,
        }
    }
}

/// Runs `f` on every item of `input` on a new thread, timing each call that yields an item
/// into `clock` and sending that item (None: dropped) through a link with `policy`.
pub fn spawn_stage<'scope, I, O, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &'static str,
    input: LinkReceiver<I>,
    policy: Policy,
    clock: StageClock,
    mut f: F,
) -> (
    LinkReceiver<O>,
    ScopedJoinHandle<'scope, Result<(), PipelineError>>,
)
where
    I: Send + 'scope,
    O: Send + 'scope,
    F: FnMut(I) -> Result<Option<O>, PipelineError> + Send + 'scope,
{
    let (tx, rx) = link(policy);
    let handle = std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, move || {
            let _span = tracing::debug_span!("stage", name).entered();
            for item in input {
                let start = Instant::now();
                // A dropped item is not timed: deciding to drop costs nothing worth a sample.
                let Some(out) = f(item)? else { continue };
                clock.lock().expect("stage clock").record(start.elapsed());
                if tx.send(out).is_err() {
                    break; // downstream stopped; its error (if any) is reported by it
                }
            }
            Ok(())
        })
        .expect("spawning a stage thread");
    (rx, handle)
}

/// True when a live frame would leave the generator over the budget, given its age and what
/// the generator has been taking (`expected`); counts it. Such a frame is dropped before the
/// generator spends its time on it.
fn too_late(frame: &Frame, budget: Option<Duration>, expected: Duration, late: &AtomicU64) -> bool {
    let over = budget.is_some_and(|b| frame.arrived.elapsed() + expected > b);
    if over {
        late.fetch_add(1, Ordering::Relaxed);
    }
    over
}

/// How much of its estimate the generator keeps per frame.
const FORGET: f64 = 0.9;

/// A running estimate of the generator's time per frame (exponential average over about
/// ten frames). A cautious one (the slowest recent frame) dropped a quarter more frames
/// here without lowering the p95.
fn update_expected(expected: &mut Duration, took: Duration) {
    *expected = expected.mul_f64(FORGET) + took.mul_f64(1.0 - FORGET);
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
    let without_person = AtomicU64::new(0);
    let (frames_in, late) = (AtomicU64::new(0), AtomicU64::new(0));
    let budget = config.max_latency.filter(|_| config.live);
    let policy = config.policy();
    let clocks: [StageClock; 3] = Default::default();
    let [pose_clock, generate_clock, render_clock] = clocks.clone();
    let mut links: Vec<(&'static str, DropCounter)> = Vec::new();

    std::thread::scope(|scope| -> Result<(), PipelineError> {
        let (frames_tx, frames_rx) = link::<Frame>(policy);
        links.push(("pose", frames_tx.drops()));
        let frames_in = &frames_in;
        let source_handle = std::thread::Builder::new()
            .name("source".into())
            .spawn_scoped(scope, move || -> Result<(), PipelineError> {
                while !stop.load(Ordering::Relaxed) {
                    let Some(frame) = source.next_frame()? else {
                        break;
                    };
                    frames_in.fetch_add(1, Ordering::Relaxed);
                    if frames_tx.send(frame).is_err() {
                        break;
                    }
                }
                Ok(())
            })
            .expect("spawning the source thread");

        let without_person = &without_person;
        let (posed_rx, pose_handle) = spawn_stage(
            scope,
            "pose",
            frames_rx,
            policy,
            pose_clock,
            move |frame: Frame| {
                let t = frame.pts.unwrap_or(FALLBACK_PERIOD * frame.index as u32);
                let skeleton = pose.process(&frame.image, t)?;
                if !skeleton.found() {
                    without_person.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(Posed {
                    frame,
                    skeleton,
                    generated: None,
                }))
            },
        );
        let late = &late;
        let (posed_rx, generate_handle) = match generator {
            Some(mut generator) => {
                links.push(("generate", posed_rx.drops()));
                let (rx, handle) =
                    spawn_stage(scope, "generate", posed_rx, policy, generate_clock, {
                        let mut expected = Duration::ZERO;
                        move |mut p: Posed| {
                            if too_late(&p.frame, budget, expected, late) {
                                // Forget a slow spell even while dropping every frame.
                                expected = expected.mul_f64(FORGET);
                                return Ok(None);
                            }
                            let start = Instant::now();
                            let size = (p.frame.image.width, p.frame.image.height);
                            let target = generator.normalize(&p.skeleton, size);
                            p.generated = Some(generator.generate(&target));
                            update_expected(&mut expected, start.elapsed());
                            Ok(Some(p))
                        }
                    });
                (rx, Some(handle))
            }
            None => (posed_rx, None),
        };
        let filter_late = generate_handle.is_none();
        let carry_stamp = config.carry_stamp;
        links.push(("render", posed_rx.drops()));
        let (out_rx, render_handle) = spawn_stage(
            scope,
            "render",
            posed_rx,
            policy,
            render_clock,
            move |p: Posed| {
                if filter_late && too_late(&p.frame, budget, Duration::ZERO, late) {
                    return Ok(None);
                }
                let mut image = renderer.render(&p.frame.image, &p.skeleton, p.generated.as_ref());
                if carry_stamp {
                    if let Some(stamp) = crate::base::stamp::read_rgb(&p.frame.image) {
                        crate::base::stamp::write(&mut image, stamp);
                    }
                }
                Ok(Some(Frame {
                    index: p.frame.index,
                    pts: p.frame.pts,
                    duration: p.frame.duration,
                    arrived: p.frame.arrived,
                    image,
                }))
            },
        );
        links.push(("encode", out_rx.drops()));

        let mut meter = config.verbose.then(|| Meter::new(&clocks));
        let mut sink_result: Result<(), PipelineError> = Ok(());
        loop {
            // The meter also ticks while no frame comes out (all dropped, or a stalled
            // input): that is when its line matters most.
            let frame = match out_rx.recv_timeout(METER_POLL) {
                Ok(frame) => Some(frame),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(meter) = &mut meter {
                let dropped =
                    links.iter().map(|(_, d)| d.get()).sum::<u64>() + late.load(Ordering::Relaxed);
                meter.tick(
                    frames_in.load(Ordering::Relaxed),
                    report.frames_out,
                    dropped,
                    &report.end_to_end,
                    &report.sink,
                );
            }
            let Some(frame) = frame else { continue };
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
        let join = |h: ScopedJoinHandle<'_, Result<(), PipelineError>>, name| {
            h.join().map_err(|_| PipelineError::StagePanicked(name))?
        };
        let source = join(source_handle, "source");
        let pose = join(pose_handle, "pose");
        let generate = generate_handle.map(|h| join(h, "generate")).transpose();
        let render = join(render_handle, "render");
        // Whatever failed upstream, the frames written so far still make a playable file.
        let finished = match sink_result {
            Ok(()) => sink.finish().map_err(PipelineError::from),
            Err(e) => Err(e),
        };
        // The first failing stage explains the rest.
        source?;
        pose?;
        generate?;
        render?;
        finished?;
        Ok(())
    })?;
    let histogram = |c: &StageClock| c.lock().expect("stage clock").clone();
    report.pose = histogram(&clocks[0]);
    report.generate = histogram(&clocks[1]);
    report.render = histogram(&clocks[2]);
    report.frames_in = frames_in.into_inner();
    report.frames_without_person = without_person.into_inner();
    for (name, counter) in &links {
        report.drops.insert(name.to_string(), counter.get());
    }
    report.drops.insert("late".into(), late.into_inner());
    report.drops.retain(|_, n| *n > 0);
    report.wall = started.elapsed();
    Ok(report)
}
