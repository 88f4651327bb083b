//! Generation batched across streams (`metapix serve` with `batch_ms`). The streams whose
//! models can run side by side (Pose2Im of one shape, on one device) hand their poses to one
//! thread, which holds all their models as one grouped generator ([`Generator::grouped`])
//! and renders every stream's frame in one launch: one CUDA graph replay on CUDA, where each
//! stream alone would replay its own.
//!
//! Streams are not in step, so the thread waits for the others only until a deadline after
//! the first pose of a round has come ([`BatchRound`]): the window bounds what batching adds
//! to a frame's latency. A stream that ends leaves the group and is no longer waited for.
//!
//! Measured on an H100 it loses (docs/BENCHMARKS.md, "Serve with a CUDA stream per thread"):
//! grouped convolutions are slow kernels at the paper's size, and at lite's each stream waits
//! for its round, while the cores (pose), not the launches, are what runs out. So serve
//! batches only when asked.

use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use super::GenerateError;
use crate::model::checkpoint::Loaded;
use crate::model::cuda_graph::{self, Graphed};
use crate::model::io::{bytes_image, image_bytes};
use crate::model::{guard, split_groups, Condition, Generator};
use crate::RgbImage;

/// A stream's place in a batch: its frames come from the group's thread.
pub struct Slot {
    index: usize,
    requests: Sender<Request>,
    frames: Receiver<Result<RgbImage, String>>,
}

enum Request {
    /// A stream's encoded pose (1, C, S, S), on the CPU.
    Frame { slot: usize, pose: Tensor },
    /// A stream ended: it is not waited for any more.
    Leave(usize),
}

impl Slot {
    /// The frame this slot's model renders for `pose` (1, C, S, S), once the round it joins
    /// has run.
    pub fn generate(&self, pose: Tensor) -> Result<RgbImage, GenerateError> {
        let gone = || GenerateError::Batch("the batch's thread has ended".into());
        let slot = self.index;
        self.requests
            .send(Request::Frame { slot, pose })
            .map_err(|_| gone())?;
        self.frames
            .recv()
            .map_err(|_| gone())?
            .map_err(GenerateError::Batch)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Leave(self.index));
    }
}

/// Starts the thread that renders the frames of `models` (each a checkpoint loaded on
/// `device`, all of one architecture that groups and one resolution) in rounds, waiting at
/// most `window` after a round's first pose for the others. Slot i renders model i; the
/// thread ends once every slot is dropped.
pub fn start(
    models: Vec<Loaded>,
    device: Device,
    kind: Kind,
    window: Duration,
) -> Result<Vec<Slot>, GenerateError> {
    let group = Group::new(&models, device, kind)?;
    drop(models);
    let (requests, incoming) = unbounded();
    let mut slots = Vec::new();
    let mut replies = Vec::new();
    for index in 0..group.size() {
        let (reply, frames) = bounded(1);
        replies.push(reply);
        slots.push(Slot {
            index,
            requests: requests.clone(),
            frames,
        });
    }
    let round = BatchRound::new(replies, window);
    std::thread::Builder::new()
        .name("batch".into())
        .spawn(move || round.serve(group, incoming))
        .map_err(|e| GenerateError::Batch(format!("cannot start its thread: {e}")))?;
    Ok(slots)
}

/// The models as one grouped generator, and the device buffer its inputs are written to.
struct Group {
    generator: Generator,
    _vs: VarStore,
    device: Device,
    /// (1, G x C, S, S): each slot's latest pose, side by side on the channels.
    inputs: Tensor,
    graph: Graphed,
}

impl Group {
    fn new(models: &[Loaded], device: Device, kind: Kind) -> Result<Self, GenerateError> {
        let Some(first) = models.first() else {
            return Err(GenerateError::Batch("no models to batch".into()));
        };
        let (arch, resolution) = (first.meta.arch, first.meta.resolution);
        if let Some(other) = models
            .iter()
            .find(|m| m.meta.arch != arch || m.meta.resolution != resolution)
        {
            return Err(GenerateError::Batch(format!(
                "a {} model at {} cannot share a launch with a {} model at {}",
                other.meta.arch.name(),
                other.meta.resolution,
                arch.name(),
                resolution
            )));
        }
        let groups = models.len();
        // Built on the CPU, as checkpoint::load does: initial weights on CUDA would draw random
        // numbers there, which fails while another stream captures a graph.
        let mut vs = VarStore::new(Device::Cpu);
        let generator = Generator::grouped(&vs.root(), &arch, groups)
            .ok_or_else(|| GenerateError::Batch(format!("{} models do not group", arch.name())))?;
        vs.set_device(device);
        guard::torch(|| {
            tch::no_grad(|| {
                for (name, t) in vs.variables() {
                    let each: Vec<Tensor> = models
                        .iter()
                        .map(|m| m.gen_vs.variables()[&name].copy())
                        .collect();
                    split_groups(&t, groups as i64).copy_(&Tensor::stack(&each, 0));
                }
            })
        })?;
        vs.set_kind(kind);
        let (c, s) = (arch.input().channels(), resolution as i64);
        let inputs = Tensor::zeros([1, groups as i64 * c, s, s], (kind, device));
        Ok(Self {
            generator,
            _vs: vs,
            device,
            inputs,
            graph: Graphed::default(),
        })
    }

    fn size(&self) -> usize {
        self.generator.groups() as usize
    }

    /// The frames of the slots whose poses are given, every model run in one forward.
    fn render(&mut self, poses: &[Option<Tensor>]) -> Result<Vec<Option<RgbImage>>, GenerateError> {
        let groups = self.size() as i64;
        let channels = self.inputs.size()[1] / groups;
        let (generator, graph, inputs) = (&self.generator, &mut self.graph, &self.inputs);
        let frames = guard::torch(|| {
            tch::no_grad(|| {
                for (g, pose) in poses.iter().enumerate() {
                    if let Some(pose) = pose {
                        // copy_ moves and converts in one step (host f32 -> device kind).
                        inputs.narrow(1, g as i64 * channels, channels).copy_(pose);
                    }
                }
                // (1, G x 3, S, S) -> (G, S, S, 3) bytes, inside the graph.
                let bytes = graph.run(&[inputs], |x| {
                    let frames = generator.forward(&Condition::pose(x[0].shallow_clone()));
                    let [_, _, h, w] = frames.size()[..] else {
                        panic!("frames are (N, C, H, W)")
                    };
                    image_bytes(&frames.view([groups, 3, h, w]))
                });
                // One copy back for the round (a frame is 196 KB at 256).
                let bytes = bytes.to_device(Device::Cpu);
                poses
                    .iter()
                    .enumerate()
                    .map(|(g, pose)| pose.as_ref().map(|_| bytes_image(&bytes.get(g as i64))))
                    .collect()
            })
        })?;
        Ok(frames)
    }
}

/// The group's thread: who is still streaming, and where each slot's frame goes.
struct BatchRound {
    replies: Vec<Sender<Result<RgbImage, String>>>,
    streaming: Vec<bool>,
    window: Duration,
}

impl BatchRound {
    fn new(replies: Vec<Sender<Result<RgbImage, String>>>, window: Duration) -> Self {
        let streaming = vec![true; replies.len()];
        Self {
            replies,
            streaming,
            window,
        }
    }

    /// Rounds until every slot is dropped: the first pose of a round opens it, and it runs
    /// once every streaming slot has sent one or the window has passed.
    fn serve(mut self, mut group: Group, incoming: Receiver<Request>) {
        if let Err(e) = cuda_graph::use_own_stream(group.device) {
            tracing::warn!("{e}: batching on the default CUDA stream");
        }
        let mut poses: Vec<Option<Tensor>> = (0..self.replies.len()).map(|_| None).collect();
        while let Ok(request) = incoming.recv() {
            self.take(request, &mut poses);
            let deadline = Instant::now() + self.window;
            while self.waiting(&poses) {
                match incoming.recv_deadline(deadline) {
                    Ok(request) => self.take(request, &mut poses),
                    Err(_) => break,
                }
            }
            if poses.iter().any(Option::is_some) {
                self.reply(group.render(&poses), &mut poses);
            }
        }
    }

    fn take(&mut self, request: Request, poses: &mut [Option<Tensor>]) {
        match request {
            Request::Frame { slot, pose } => poses[slot] = Some(pose),
            Request::Leave(slot) => self.streaming[slot] = false,
        }
    }

    /// Whether a streaming slot has not sent its pose for this round yet.
    fn waiting(&self, poses: &[Option<Tensor>]) -> bool {
        poses
            .iter()
            .zip(&self.streaming)
            .any(|(pose, &streaming)| streaming && pose.is_none())
    }

    /// Sends each posing slot its frame, or the round's error.
    fn reply(
        &self,
        mut frames: Result<Vec<Option<RgbImage>>, GenerateError>,
        poses: &mut [Option<Tensor>],
    ) {
        for (g, pose) in poses.iter_mut().enumerate() {
            if pose.take().is_none() {
                continue;
            }
            let frame = match &mut frames {
                Ok(frames) => frames[g].take().ok_or_else(|| "no frame".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = self.replies[g].send(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::generate::tests::{trained, untrained};
    use crate::generate::{load_checkpoint, FrameGenerator, ModelChoice};
    use crate::model::{checkpoint, ArchConfig, Preset, DEFAULT_AVATAR};
    use crate::synth::SyntheticPerson;
    use crate::Skeleton;

    /// Two Pose2Im checkpoints at 64 px in `dir`: the avatar's weights, and the same with
    /// every weight moved by a tenth of its spread (another person, as far as a test can
    /// tell).
    fn two_models(dir: &std::path::Path, person: &SyntheticPerson) -> [ModelChoice; 2] {
        let first = trained(DEFAULT_AVATAR, person, dir);
        let other = dir.join("other.safetensors");
        let loaded = checkpoint::load(&first, Device::Cpu).unwrap();
        tch::manual_seed(5);
        tch::no_grad(|| {
            for (_, mut t) in loaded.gen_vs.variables() {
                let moved = &t + t.randn_like() * t.std(false).double_value(&[]) * 0.1;
                t.copy_(&moved);
            }
        });
        checkpoint::save(&other, &loaded.gen_vs, &loaded.meta).unwrap();
        [ModelChoice::File(first), ModelChoice::File(other)]
    }

    /// A person and [`two_models`] of them, in a folder that lives as long as the fixture.
    fn fixture() -> (tempfile::TempDir, SyntheticPerson, [ModelChoice; 2]) {
        let dir = tempfile::tempdir().unwrap();
        let person = SyntheticPerson::random(4);
        let models = two_models(dir.path(), &person);
        (dir, person, models)
    }

    /// The models as a batch's slots, each as a stream's generator.
    fn slots(models: &[ModelChoice], window: Duration) -> Vec<FrameGenerator> {
        let loaded: Vec<_> = models
            .iter()
            .map(|m| load_checkpoint(m, Device::Cpu).unwrap())
            .collect();
        let metas: Vec<_> = loaded.iter().map(|m| m.meta.clone()).collect();
        let slots = start(loaded, Device::Cpu, Kind::Float, window).unwrap();
        metas
            .into_iter()
            .zip(slots)
            .map(|(meta, slot)| FrameGenerator::batched(meta, slot))
            .collect()
    }

    fn mean_gap(a: &RgbImage, b: &RgbImage) -> f64 {
        let sum: f64 = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(&x, &y)| (x as f64 - y as f64).abs())
            .sum();
        sum / a.data.len() as f64
    }

    /// `f` on another thread, or a failure if it has not returned within a minute (a round
    /// that waited for a stream it should not have).
    fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || tx.send(f()).unwrap());
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a round never ran")
    }

    #[test]
    fn each_slot_renders_what_its_model_renders_alone_in_one_round() {
        let (_dir, person, models) = fixture();
        // The window is long: rounds only run this fast if both slots joined each one.
        let slots = slots(&models, Duration::from_secs(600));
        let times = [0.4f32, 1.3, 2.6];
        let poses: Vec<Skeleton> = times.iter().map(|&t| person.skeleton(t, 64, 64)).collect();
        let batched: Vec<Vec<RgbImage>> = within_a_minute(move || {
            std::thread::scope(|scope| {
                let running: Vec<_> = slots
                    .into_iter()
                    .map(|mut g| {
                        let poses = &poses;
                        scope.spawn(move || {
                            poses
                                .iter()
                                .map(|p| g.generate(p).unwrap())
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                running.into_iter().map(|h| h.join().unwrap()).collect()
            })
        });
        for (i, model) in models.iter().enumerate() {
            let mut alone = FrameGenerator::load_as(model, Device::Cpu, Kind::Float).unwrap();
            let mut other =
                FrameGenerator::load_as(&models[1 - i], Device::Cpu, Kind::Float).unwrap();
            for (t, frame) in times.iter().zip(&batched[i]) {
                let pose = person.skeleton(*t, 64, 64);
                // Grouped and plain convolutions round differently: up to 4.2e-5 of a value
                // near 1 on AVX-512/AMX Xeons (the grouped model test), 0.005 of a level of
                // 255, so a pixel's byte flips only near a rounding edge and the mean gap
                // stays far below 0.1; the other model (weights moved by a tenth of their
                // spread) is whole levels away.
                let own = mean_gap(frame, &alone.generate(&pose).unwrap());
                let others = mean_gap(frame, &other.generate(&pose).unwrap());
                println!(
                    "slot {i} at t {t}: {own:.4} levels from its model, {others:.2} from the other"
                );
                assert!(
                    own < 0.1,
                    "slot {i} at t {t}: {own:.3} levels from its model"
                );
                assert!(
                    others > 1.0,
                    "slot {i} at t {t}: {others:.3} levels from the other"
                );
            }
        }
    }

    #[test]
    fn a_round_waits_for_a_silent_stream_only_until_its_deadline() {
        let (_dir, person, models) = fixture();
        let mut slots = slots(&models, Duration::from_millis(20));
        let _silent = slots.pop().unwrap();
        let mut g = slots.pop().unwrap();
        let pose = person.skeleton(1.0, 64, 64);
        let frames = within_a_minute(move || (0..3).map(|_| g.generate(&pose).unwrap()).count());
        assert_eq!(frames, 3);
    }

    #[test]
    fn a_stream_that_ends_is_not_waited_for() {
        let (_dir, person, models) = fixture();
        // Ten minutes: the round runs at once only because the other slot left.
        let mut slots = slots(&models, Duration::from_secs(600));
        drop(slots.pop());
        let mut g = slots.pop().unwrap();
        let pose = person.skeleton(1.0, 64, 64);
        let frame = within_a_minute(move || g.generate(&pose).unwrap());
        assert_eq!((frame.width, frame.height), (64, 64));
    }

    #[test]
    fn models_that_cannot_share_a_launch_are_refused() {
        let (dir, person, [avatar, _]) = fixture();
        let posewarp = untrained(ArchConfig::posewarp(Preset::Lite), &person, dir.path());
        let load = |m: &ModelChoice| load_checkpoint(m, Device::Cpu).unwrap();
        let mixed = vec![load(&avatar), load(&ModelChoice::File(posewarp.clone()))];
        let err = start(mixed, Device::Cpu, Kind::Float, Duration::ZERO)
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot share a launch"), "{err}");
        let posewarps = vec![
            load(&ModelChoice::File(posewarp.clone())),
            load(&ModelChoice::File(posewarp)),
        ];
        let err = start(posewarps, Device::Cpu, Kind::Float, Duration::ZERO)
            .err()
            .unwrap();
        assert!(err.to_string().contains("do not group"), "{err}");
    }
}
