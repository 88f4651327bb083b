//! The stage graph in process: in-memory sources and sinks, a scripted pose stage, and a
//! real (small, random) generator, so that shutdown, failures, drops and the latency budget
//! are checked without GStreamer or ONNX files.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::base::skeleton::NUM_LANDMARKS;
use crate::generate::ModelChoice;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::{ArchConfig, Generator, Preset};

/// Frames from memory: `n` 32x32 frames, each `age` old when it is read.
struct VecSource {
    frames: VecDeque<(u64, Duration)>,
    /// Time between frames, as a camera's.
    period: Duration,
}

impl VecSource {
    fn new(n: u64, age: impl Fn(u64) -> Duration, period: Duration) -> Box<Self> {
        Box::new(Self {
            frames: (0..n).map(|i| (i, age(i))).collect(),
            period,
        })
    }
}

impl FrameSource for VecSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        std::thread::sleep(self.period);
        Ok(self.frames.pop_front().map(|(index, age)| Frame {
            index,
            pts: Some(Duration::from_millis(33 * index)),
            duration: Some(Duration::from_millis(33)),
            arrived: Instant::now() - age,
            image: RgbImage::filled(32, 32, [index as u8, 0, 0]),
        }))
    }
}

/// A sink that keeps what it is given, and fails at frame `fail_at` as a full disk would.
#[derive(Default)]
struct VecSink {
    frames: Vec<Frame>,
    fail_at: Option<usize>,
    finished: bool,
}

impl FrameSink for VecSink {
    fn write(&mut self, frame: &Frame) -> Result<(), StreamError> {
        if Some(self.frames.len()) == self.fail_at {
            return Err(StreamError::Encode("no space left on device".into()));
        }
        self.frames.push(frame.clone());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        self.finished = true;
        Ok(())
    }
}

/// A pose stage that finds a person in every frame but those in `nobody`, takes `delay`,
/// and fails at frame `fail_at`.
#[derive(Default, Clone)]
struct ScriptedPose {
    nobody: Vec<u64>,
    delay: Duration,
    fail_at: Option<u64>,
    seen: u64,
}

impl PoseStage for ScriptedPose {
    fn estimate(&mut self, image: &RgbImage, _at: Duration) -> Result<Skeleton, PoseError> {
        let index = self.seen;
        self.seen += 1;
        std::thread::sleep(self.delay);
        if Some(index) == self.fail_at {
            return Err(PoseError::EmptyImage {
                width: 0,
                height: image.height,
            });
        }
        if self.nobody.contains(&index) {
            return Ok(Skeleton::none());
        }
        let points: [[f32; 2]; NUM_LANDMARKS] =
            std::array::from_fn(|i| [4.0 + (i % 5) as f32 * 5.0, 2.0 + i as f32 * 0.8]);
        Ok(Skeleton::from_points(&points))
    }
}

fn config(view: View, live: bool) -> GraphConfig {
    GraphConfig {
        view,
        size: 32,
        live,
        max_latency: None,
        carry_stamp: false,
        meter: None,
    }
}

/// A lite generator with random weights at 32 px, as a checkpoint loads it.
fn small_generator(dir: &std::path::Path) -> FrameGenerator {
    let path = dir.join("g.safetensors");
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let arch = ArchConfig::pose2im(Preset::Lite);
    let _g = Generator::new(&vs.root(), &arch);
    checkpoint::save(&path, &vs, &CheckpointMeta::new(arch, 32)).unwrap();
    FrameGenerator::load(&ModelChoice::File(path), tch::Device::Cpu).unwrap()
}

/// Runs the graph on a thread and fails the test, rather than hanging it, if the run does
/// not end within 30 s.
fn run_within(
    source: Box<dyn FrameSource>,
    pose: ScriptedPose,
    generator: Option<FrameGenerator>,
    sink: VecSink,
    config: GraphConfig,
) -> (Result<GraphReport, PipelineError>, VecSink) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = sink;
        let stop = Arc::new(AtomicBool::new(false));
        let result = run_graph(
            source,
            Box::new(pose),
            generator,
            &mut sink,
            &config,
            &stop,
            &mut |_| {},
        );
        let _ = tx.send((result, sink));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("run_graph hung: it did not return within 30 s")
}

#[test]
fn a_sink_failing_mid_run_ends_the_run_with_its_error() {
    // A file input (blocking links) of many frames: before the fix, the source, pose and
    // render threads blocked on full links forever once the sink stopped reading.
    let source = VecSource::new(10_000, |_| Duration::ZERO, Duration::ZERO);
    let sink = VecSink {
        fail_at: Some(3),
        ..VecSink::default()
    };
    let (result, sink) = run_within(
        source,
        ScriptedPose::default(),
        None,
        sink,
        config(View::Skeleton, false),
    );
    let err = result.expect_err("the sink's failure");
    assert!(
        matches!(err, PipelineError::Stream(StreamError::Encode(_))),
        "{err}"
    );
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(sink.frames.len(), 3);
    assert!(!sink.finished, "a failed output is not finished");
}

#[test]
fn the_first_failure_is_the_one_reported() {
    // The sink fails at frame 2 while the pose stage would fail at frame 500: bounded links
    // keep pose within a few frames of the sink, so the sink's failure comes first.
    let source = || VecSource::new(1000, |_| Duration::ZERO, Duration::ZERO);
    let pose = ScriptedPose {
        fail_at: Some(500),
        ..ScriptedPose::default()
    };
    let sink = VecSink {
        fail_at: Some(2),
        ..VecSink::default()
    };
    let (result, _) = run_within(source(), pose, None, sink, config(View::Skeleton, false));
    let err = result.err().unwrap();
    assert!(matches!(err, PipelineError::Stream(_)), "{err}");
    // The other way round: pose fails at frame 2, the sink would at 500. The pose error is
    // reported, and the output is still finished, so the frames before it make a file.
    let pose = ScriptedPose {
        fail_at: Some(2),
        ..ScriptedPose::default()
    };
    let sink = VecSink {
        fail_at: Some(500),
        ..VecSink::default()
    };
    let (result, sink) = run_within(source(), pose, None, sink, config(View::Skeleton, false));
    let err = result.err().unwrap();
    assert!(matches!(err, PipelineError::Pose(_)), "{err}");
    assert_eq!(sink.frames.len(), 2);
    assert!(sink.finished);
}

#[test]
fn live_drops_are_counted_at_the_link_of_the_slow_stage() {
    // A camera at up to 1000 fps into a pose stage that takes 20 ms: most frames are
    // dropped, at the link into pose, and every frame is either written or counted.
    let source = VecSource::new(150, |_| Duration::ZERO, Duration::from_millis(1));
    let pose = ScriptedPose {
        delay: Duration::from_millis(20),
        ..ScriptedPose::default()
    };
    let (result, sink) = run_within(
        source,
        pose,
        None,
        VecSink::default(),
        config(View::Skeleton, true),
    );
    let report = result.unwrap();
    let dropped: u64 = report.drops.values().sum();
    println!(
        "{} in, {} out, drops {:?}",
        report.frames_in, report.frames_out, report.drops
    );
    assert_eq!(report.frames_in, 150);
    assert_eq!(report.frames_in, report.frames_out + dropped);
    assert_eq!(report.frames_out, sink.frames.len() as u64);
    let at_pose = report.drops.get("pose").copied().unwrap_or(0);
    assert!(at_pose > 50, "{:?}", report.drops);
    assert!(
        report.drops.values().all(|&n| n <= at_pose),
        "{:?}",
        report.drops
    );
    // The newest frame is never the one dropped: the last frame always comes out.
    assert_eq!(sink.frames.last().map(|f| f.index), Some(149));
}

#[test]
fn a_latency_budget_drops_the_frames_over_it_and_keeps_the_rest() {
    // Every other frame arrives 10 s old (a stalled camera's backlog), against a budget of
    // 1 s: those are dropped before the generator and counted late; the fresh ones are
    // generated. Link drops may take some fresh frames too, never an old one's place.
    let dir = tempfile::tempdir().unwrap();
    let generator = small_generator(dir.path());
    let old = |i: u64| {
        if i % 2 == 1 {
            Duration::from_secs(10)
        } else {
            Duration::ZERO
        }
    };
    let source = VecSource::new(101, old, Duration::from_millis(20));
    let config = GraphConfig {
        max_latency: Some(Duration::from_secs(1)),
        ..config(View::Gen, true)
    };
    let (result, sink) = run_within(
        source,
        ScriptedPose::default(),
        Some(generator),
        VecSink::default(),
        config,
    );
    let report = result.unwrap();
    let dropped: u64 = report.drops.values().sum();
    let late = report.drops.get("late").copied().unwrap_or(0);
    println!("{} out, drops {:?}", report.frames_out, report.drops);
    assert_eq!(report.frames_in, report.frames_out + dropped);
    assert!(late > 0 && report.frames_out > 0, "{:?}", report.drops);
    assert!(
        late <= 50,
        "a fresh frame was called late: {:?}",
        report.drops
    );
    assert!(
        sink.frames.iter().all(|f| f.index % 2 == 0),
        "an old frame was written"
    );
    // The last frame is fresh and nothing comes after it: it is always written.
    assert_eq!(sink.frames.last().map(|f| f.index), Some(100));
    assert!(report.generate.count() > 0);
}

#[test]
fn frames_without_a_person_skip_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let generator = small_generator(dir.path());
    let source = VecSource::new(6, |_| Duration::ZERO, Duration::ZERO);
    let pose = ScriptedPose {
        nobody: vec![1, 4],
        ..ScriptedPose::default()
    };
    let (result, sink) = run_within(
        source,
        pose,
        Some(generator),
        VecSink::default(),
        config(View::SideBySide, false),
    );
    let report = result.unwrap();
    assert_eq!(report.frames_without_person, 2);
    assert_eq!(
        report.generate.count(),
        4,
        "the generator ran on frames with nobody"
    );
    assert_eq!(sink.frames.len(), 6);
    for frame in &sink.frames {
        // Three panels on every frame; the third black where nobody was.
        assert_eq!((frame.image.width, frame.image.height), (96, 32));
        let third = (0..32).flat_map(|y| (64..96).map(move |x| (x, y)));
        let black = third
            .clone()
            .all(|(x, y)| frame.image.pixel(x, y) == [0, 0, 0]);
        assert_eq!(
            black,
            [1, 4].contains(&frame.index),
            "frame {}",
            frame.index
        );
    }
}

#[test]
fn a_panicking_stage_is_reported_with_its_message() {
    struct Broken;
    impl PoseStage for Broken {
        fn estimate(&mut self, _: &RgbImage, _: Duration) -> Result<Skeleton, PoseError> {
            panic!("index out of range in the landmark decoder");
        }
    }
    let source = VecSource::new(10, |_| Duration::ZERO, Duration::ZERO);
    let mut sink = VecSink::default();
    let stop = AtomicBool::new(false);
    let err = run_graph(
        source,
        Box::new(Broken),
        None,
        &mut sink,
        &config(View::Skeleton, false),
        &stop,
        &mut |_| {},
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, PipelineError::StagePanicked { stage: "pose", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("landmark decoder"), "{err}");
}
