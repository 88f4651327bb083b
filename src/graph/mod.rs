//! The stage graph: source -> pose -> generate -> render -> sink, joined by bounded links.
//!
//! Each stage is a plain processor run on its own thread by [`stage::spawn`], which times it;
//! [`run_graph`] wires them in order and drains the last link into the sink. Shutdown
//! follows the links both ways: when the source ends (or `stop` is raised) it drops its
//! sender, each stage drains and drops its own, and the sink finishes the output; when a
//! stage or the sink fails, it drops its receiver, so every stage before it finds its link
//! closed and ends too. The first failure is the one reported ([`stage::Failure`]). File
//! inputs block rather than drop, so every input frame becomes an output frame; live inputs
//! drop the stalest waiting frame at any link that is full ([`link`]), and frames older than
//! `max_latency` never reach the generator. Every drop is counted.

pub mod link;
pub mod meter;
mod stage;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use crate::base::stats::{LatencyHistogram, RunStats, StageClock};
use crate::generate::{FrameGenerator, GenerateError};
use crate::pose::{PoseError, PoseEstimator};
use crate::render::{View, ViewRenderer};
use crate::stream::{FrameSink, FrameSource, StreamError};
use crate::{Frame, RgbImage, Skeleton};
use link::{link, DropCounter, LinkReceiver, Policy};
use meter::Meter;
use stage::{Failure, Outcome};

/// Frames waiting between two stages of a file run. Small: latency, not throughput, is
/// what queues buy.
pub const CHANNEL_CAPACITY: usize = 2;

/// Why a run failed, by the part that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Pose(#[from] PoseError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// A defect: a stage panicked. Its message is kept, so the user sees what it said.
    #[error("stage {stage} stopped unexpectedly: {message}")]
    StagePanicked {
        stage: &'static str,
        message: String,
    },
}

/// What the graph needs of the pose stage: BlazePose in production, scripted in tests.
pub trait PoseStage: Send {
    /// The person in `image` at `at` (timestamps increase from frame to frame); a frame
    /// without one gives an empty skeleton.
    fn estimate(&mut self, image: &RgbImage, at: Duration) -> Result<Skeleton, PoseError>;
}

impl PoseStage for PoseEstimator {
    fn estimate(&mut self, image: &RgbImage, at: Duration) -> Result<Skeleton, PoseError> {
        self.process(image, at)
    }
}

/// Frame spacing assumed for smoothing when the source gives no timestamps.
const FALLBACK_PERIOD: Duration = Duration::from_nanos(33_333_333);
/// How long the sink waits for a frame before giving `--verbose`'s meter a turn.
const METER_POLL: Duration = Duration::from_millis(250);

/// A frame and the pose found in it.
struct Posed {
    frame: Frame,
    skeleton: Skeleton,
    generated: Option<RgbImage>,
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
    /// Live only: copy the source's stamp ([`crate::base::stamp`]) into every output frame,
    /// so a client can measure glass-to-glass latency.
    pub carry_stamp: bool,
    /// Print rates, drops and latencies once a second, each line starting with this name
    /// (`live`; a stream's name in `metapix serve`).
    pub meter: Option<String>,
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

/// What every thread of one run shares: the settings, the counters and the first failure.
struct Run<'a> {
    config: &'a GraphConfig,
    stop: &'a AtomicBool,
    policy: Policy,
    /// The latency budget, for live runs.
    budget: Option<Duration>,
    failure: Failure,
    frames_in: AtomicU64,
    without_person: AtomicU64,
    late: AtomicU64,
    clocks: [StageClock; 3],
}

type Handle<'scope> = ScopedJoinHandle<'scope, ()>;

/// Runs the whole graph until the source ends, `stop` is raised or a part fails, calling
/// `progress` with the number of frames written after each one. The caller loads the
/// models first, so that a missing one is reported before any output file exists.
pub fn run_graph(
    source: Box<dyn FrameSource>,
    pose: Box<dyn PoseStage>,
    generator: Option<FrameGenerator>,
    sink: &mut dyn FrameSink,
    config: &GraphConfig,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<GraphReport, PipelineError> {
    let started = Instant::now();
    let run = Run {
        config,
        stop,
        policy: config.policy(),
        budget: config.max_latency.filter(|_| config.live),
        failure: Failure::default(),
        frames_in: AtomicU64::new(0),
        without_person: AtomicU64::new(0),
        late: AtomicU64::new(0),
        clocks: Default::default(),
    };
    let mut report = GraphReport::default();
    let mut links: Vec<(&'static str, DropCounter)> = Vec::new();
    let generating = generator.is_some();
    std::thread::scope(|scope| {
        let (frames, source) = spawn_source(scope, &run, source, &mut links);
        let (posed, pose) = spawn_pose(scope, &run, frames, pose);
        let (posed, generate) = spawn_generate(scope, &run, posed, generator, &mut links);
        let (out, render) = spawn_render(scope, &run, posed, generating, &mut links);
        // Returns once the last link is empty and closed, or the sink failed; either way
        // its receiver is gone then, so every stage above ends and the joins return.
        drain_into_sink(&run, out, sink, &mut report, &links, progress);
        for handle in [Some(source), Some(pose), generate, Some(render)]
            .into_iter()
            .flatten()
        {
            // Panics were caught inside the thread and recorded as failures.
            let _ = handle.join();
        }
    });
    if let Some(error) = run.failure.take() {
        return Err(error);
    }
    Ok(collect_report(run, links, report, started))
}

/// The source's thread: reads frames until the input ends, `stop` is raised or the graph
/// fails.
fn spawn_source<'scope>(
    scope: &'scope Scope<'scope, '_>,
    run: &'scope Run<'_>,
    mut source: Box<dyn FrameSource>,
    links: &mut Vec<(&'static str, DropCounter)>,
) -> (LinkReceiver<Frame>, Handle<'scope>) {
    let (tx, rx) = link::<Frame>(run.policy);
    links.push(("pose", tx.drops()));
    let handle = stage::thread(scope, "source", &run.failure, move || {
        while !run.stop.load(Ordering::Relaxed) && !run.failure.happened() {
            let Some(frame) = source.next_frame()? else {
                break;
            };
            run.frames_in.fetch_add(1, Ordering::Relaxed);
            if tx.send(frame).is_err() {
                break;
            }
        }
        Ok(())
    });
    (rx, handle)
}

fn spawn_pose<'scope>(
    scope: &'scope Scope<'scope, '_>,
    run: &'scope Run<'_>,
    frames: LinkReceiver<Frame>,
    mut pose: Box<dyn PoseStage>,
) -> (LinkReceiver<Posed>, Handle<'scope>) {
    let clock = run.clocks[0].clone();
    stage::spawn(
        scope,
        "pose",
        frames,
        run.policy,
        clock,
        &run.failure,
        move |frame: Frame| {
            let t = frame.pts.unwrap_or(FALLBACK_PERIOD * frame.index as u32);
            let skeleton = pose.estimate(&frame.image, t)?;
            if !skeleton.found() {
                run.without_person.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Done(Posed {
                frame,
                skeleton,
                generated: None,
            }))
        },
    )
}

/// The generator's stage, when there is a generator: frames over the latency budget are
/// dropped before it, and frames with nobody in them skip it.
fn spawn_generate<'scope>(
    scope: &'scope Scope<'scope, '_>,
    run: &'scope Run<'_>,
    posed: LinkReceiver<Posed>,
    generator: Option<FrameGenerator>,
    links: &mut Vec<(&'static str, DropCounter)>,
) -> (LinkReceiver<Posed>, Option<Handle<'scope>>) {
    let Some(mut generator) = generator else {
        return (posed, None);
    };
    links.push(("generate", posed.drops()));
    let clock = run.clocks[1].clone();
    let mut expected = Duration::ZERO;
    let (rx, handle) = stage::spawn(
        scope,
        "generate",
        posed,
        run.policy,
        clock,
        &run.failure,
        move |mut p: Posed| {
            if too_late(&p.frame, run.budget, expected, &run.late) {
                // Forget a slow spell even while dropping every frame.
                expected = expected.mul_f64(FORGET);
                return Ok(Outcome::Dropped);
            }
            if !p.skeleton.found() {
                return Ok(Outcome::Passed(p));
            }
            let start = Instant::now();
            let size = (p.frame.image.width, p.frame.image.height);
            let target = generator.normalize(&p.skeleton, size);
            p.generated = Some(generator.generate(&target)?);
            update_expected(&mut expected, start.elapsed());
            Ok(Outcome::Done(p))
        },
    );
    (rx, Some(handle))
}

fn spawn_render<'scope>(
    scope: &'scope Scope<'scope, '_>,
    run: &'scope Run<'_>,
    posed: LinkReceiver<Posed>,
    generating: bool,
    links: &mut Vec<(&'static str, DropCounter)>,
) -> (LinkReceiver<Frame>, Handle<'scope>) {
    links.push(("render", posed.drops()));
    let renderer = ViewRenderer::new(run.config.view, run.config.size, generating);
    let carry_stamp = run.config.carry_stamp;
    let clock = run.clocks[2].clone();
    let (rx, handle) = stage::spawn(scope, "render", posed, run.policy, clock, &run.failure, {
        move |p: Posed| {
            // Without a generator, the budget is kept here.
            if !generating && too_late(&p.frame, run.budget, Duration::ZERO, &run.late) {
                return Ok(Outcome::Dropped);
            }
            let mut image = renderer.render(&p.frame.image, &p.skeleton, p.generated.as_ref());
            if carry_stamp {
                if let Some(stamp) = crate::base::stamp::read_rgb(&p.frame.image) {
                    crate::base::stamp::write(&mut image, stamp);
                }
            }
            Ok(Outcome::Done(Frame {
                index: p.frame.index,
                pts: p.frame.pts,
                duration: p.frame.duration,
                arrived: p.frame.arrived,
                image,
            }))
        }
    });
    links.push(("encode", rx.drops()));
    (rx, handle)
}

/// Writes every frame of `out` to `sink`, ticking the meter meanwhile, then finishes the
/// output unless the sink itself failed: whatever failed upstream, the frames written so
/// far still make a playable file. Consumes `out`, so the stages above learn of a failed
/// sink by their link closing.
fn drain_into_sink(
    run: &Run<'_>,
    out: LinkReceiver<Frame>,
    sink: &mut dyn FrameSink,
    report: &mut GraphReport,
    links: &[(&'static str, DropCounter)],
    progress: &mut dyn FnMut(u64),
) {
    let mut meter = run
        .config
        .meter
        .clone()
        .map(|label| Meter::new(label, &run.clocks));
    loop {
        // The meter also ticks while no frame comes out (all dropped, or a stalled
        // input): that is when its line matters most.
        let frame = match out.recv_timeout(METER_POLL) {
            Ok(frame) => Some(frame),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(meter) = &mut meter {
            let dropped =
                links.iter().map(|(_, d)| d.get()).sum::<u64>() + run.late.load(Ordering::Relaxed);
            let frames_in = run.frames_in.load(Ordering::Relaxed);
            meter.tick(
                frames_in,
                report.frames_out,
                dropped,
                &report.end_to_end,
                &report.sink,
            );
        }
        let Some(frame) = frame else { continue };
        let start = Instant::now();
        if let Err(e) = sink.write(&frame) {
            run.failure.record(e.into());
            return;
        }
        report.sink.record(start.elapsed());
        report.end_to_end.record(frame.arrived.elapsed());
        report.input_end = frame.pts.map(|t| t + frame.duration.unwrap_or_default());
        report.frames_out += 1;
        progress(report.frames_out);
    }
    drop(out);
    if let Err(e) = sink.finish() {
        run.failure.record(e.into());
    }
}

fn collect_report(
    run: Run<'_>,
    links: Vec<(&'static str, DropCounter)>,
    mut report: GraphReport,
    started: Instant,
) -> GraphReport {
    let histogram = |c: &StageClock| c.lock().map(|h| h.clone()).unwrap_or_default();
    report.pose = histogram(&run.clocks[0]);
    report.generate = histogram(&run.clocks[1]);
    report.render = histogram(&run.clocks[2]);
    report.frames_in = run.frames_in.into_inner();
    report.frames_without_person = run.without_person.into_inner();
    for (name, counter) in &links {
        report.drops.insert(name.to_string(), counter.get());
    }
    report.drops.insert("late".into(), run.late.into_inner());
    report.drops.retain(|_, n| *n > 0);
    report.wall = started.elapsed();
    report
}
