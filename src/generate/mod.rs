//! The generate stage, for inference: a driving skeleton -> normalized into the target's
//! frame ([`normalizer`]) -> the condition the checkpoint's architecture reads -> the
//! personalized generator -> the target person in that pose. Whatever depends only on the
//! checkpoint is prepared once, at load.

pub mod batch;
pub mod normalizer;
mod sources;
mod upload;

use std::path::PathBuf;

use tch::nn::VarStore;
use tch::{Device, Kind};

use crate::model::checkpoint::{self, CheckpointError, CheckpointMeta, Loaded};
use crate::model::cuda_graph::{self, Graphed};
use crate::model::io::{bytes_image, image_bytes, PoseEncoder};
use crate::model::{device, guard, Condition, Generator, InputFormat, TorchError};
use crate::{RgbImage, Skeleton};
use normalizer::LiveNormalizer;
use sources::SourcePicker;
use upload::PoseMapUpload;

/// Which generator renders the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// The avatar shipped in the binary ([`crate::model::DEFAULT_AVATAR`]).
    DefaultAvatar,
    /// A checkpoint file (`metapix personalize`'s output).
    File(PathBuf),
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelChoice::DefaultAvatar => f.write_str(crate::model::DEFAULT_AVATAR.name),
            ModelChoice::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a frame could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("generating a frame: {0}")]
    Torch(#[from] TorchError),
    #[error("{0} is a {1} generator without frames of its person: make one with `metapix personalize --arch {1}`")]
    NoSources(String, &'static str),
    #[error("the frames of its person in the checkpoint: {0}")]
    Sources(#[from] crate::model::examples::ExamplesError),
    #[error("generating in a batch: {0}")]
    Batch(String),
    #[error(transparent)]
    Cuda(#[from] cuda_graph::GraphError),
}

/// A loaded generator of any architecture and the state of its driving-pose normalization.
pub struct FrameGenerator {
    meta: CheckpointMeta,
    encoder: PoseEncoder,
    normalizer: LiveNormalizer,
    model: StreamModel,
}

/// Where a stream's frames are rendered.
// One per stream, never copied: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum StreamModel {
    /// Its own model, on the stream's generating thread.
    Own(OwnModel),
    /// A slot of a batch: the frames come from the batch's thread ([`batch`]).
    Batched(batch::Slot),
}

struct OwnModel {
    generator: Generator,
    _vs: VarStore,
    device: Device,
    /// What the weights and inputs are on the device ([`device::inference_kind`]).
    kind: Kind,
    /// The person's frames, for architectures that move their pixels.
    sources: Option<SourcePicker>,
    /// Pose2Im's part maps, drawn as bytes for a GPU.
    pose_maps: Option<PoseMapUpload>,
    /// Pose2Im's forward as a CUDA graph, on CUDA (Posewarp's is its picker's).
    graph: Graphed,
    /// Whether the generating thread was given its own CUDA stream (on the first frame).
    own_stream: bool,
}

/// Reads the checkpoint `choice` names onto `device`.
pub fn load_checkpoint(choice: &ModelChoice, device: Device) -> Result<Loaded, GenerateError> {
    Ok(match choice {
        ModelChoice::File(path) => checkpoint::load(path, device)?,
        ModelChoice::DefaultAvatar => crate::model::DEFAULT_AVATAR.load(device)?,
    })
}

impl FrameGenerator {
    /// Loads a checkpoint (its metadata checked, sizes included) to run in the kind
    /// [`device::inference_kind`] picks for `device`: bf16 on CUDA and on CPUs with bf16
    /// instructions (faster; on CUDA libtorch 2.11 also prints a deprecation warning for every
    /// call through tch's autocast), f32 elsewhere.
    pub fn load(choice: &ModelChoice, device: Device) -> Result<Self, GenerateError> {
        Self::load_as(choice, device, device::inference_kind(device))
    }

    /// [`Self::load`], the weights and inputs in `kind` (f32 or bf16).
    pub fn load_as(
        choice: &ModelChoice,
        device: Device,
        kind: Kind,
    ) -> Result<Self, GenerateError> {
        Self::from_loaded(load_checkpoint(choice, device)?, choice, device, kind)
    }

    /// The stream's generator of the checkpoint `loaded` (read from `choice` onto `device`),
    /// the weights and inputs in `kind`.
    pub fn from_loaded(
        loaded: Loaded,
        choice: &ModelChoice,
        device: Device,
        kind: Kind,
    ) -> Result<Self, GenerateError> {
        let (mut vs, meta) = (loaded.gen_vs, loaded.meta);
        vs.set_kind(kind);
        let sources = match (&loaded.generator, loaded.sources) {
            (Generator::Posewarp(g), Some(shots)) => Some(guard::torch(|| {
                SourcePicker::new(g, &shots, meta.resolution, device, kind)
            })??),
            (Generator::Posewarp(_), None) => {
                return Err(GenerateError::NoSources(choice.to_string(), "posewarp"))
            }
            (Generator::Pose2Im(_), _) => None,
        };
        // On the CPU the f32 maps are made where they are drawn: looking up bytes' values
        // there took 2 ms a frame at 256, against 0.3 for the copy it saves.
        let pose_maps = match (&loaded.generator, meta.arch.input()) {
            (Generator::Pose2Im(_), InputFormat::PartMaps18) if device.is_cuda() => {
                Some(PoseMapUpload::new(meta.resolution, device)?)
            }
            _ => None,
        };
        let model = StreamModel::Own(OwnModel {
            generator: loaded.generator,
            _vs: vs,
            device,
            kind,
            sources,
            pose_maps,
            graph: Graphed::default(),
            own_stream: false,
        });
        Ok(Self::with_model(meta, model))
    }

    /// A stream's generator whose frames come from `slot` of a batch, the checkpoint
    /// described by `meta` being that slot's model.
    pub fn batched(meta: CheckpointMeta, slot: batch::Slot) -> Self {
        Self::with_model(meta, StreamModel::Batched(slot))
    }

    fn with_model(meta: CheckpointMeta, model: StreamModel) -> Self {
        Self {
            encoder: PoseEncoder::new(meta.arch.input(), meta.resolution),
            normalizer: LiveNormalizer::new(meta.normalization, meta.resolution),
            meta,
            model,
        }
    }

    /// Side of the frames the generator makes.
    pub fn resolution(&self) -> u32 {
        self.meta.resolution
    }

    /// Whether frames come from a CUDA graph replay of its own (known after the first
    /// frame; a batch's replays are the batch's).
    pub fn uses_cuda_graph(&self) -> bool {
        let StreamModel::Own(own) = &self.model else {
            return false;
        };
        own.graph.is_captured() || own.sources.as_ref().is_some_and(|s| s.graph.is_captured())
    }

    /// How often the stream has changed which of the person's frames it moves (Posewarp).
    pub fn source_switches(&self) -> u64 {
        match &self.model {
            StreamModel::Own(own) => own.sources.as_ref().map_or(0, |s| s.switches),
            StreamModel::Batched(_) => 0,
        }
    }

    /// `skeleton` (driving-frame pixels, in a `width` x `height` frame) mapped into the
    /// target's frame, with the driving statistics refined as the stream goes on.
    pub fn normalize(&mut self, skeleton: &Skeleton, frame_size: (u32, u32)) -> Skeleton {
        self.normalizer.apply(skeleton, frame_size)
    }

    /// The target person in the pose of `skeleton` (already in the target's frame).
    pub fn generate(&mut self, skeleton: &Skeleton) -> Result<RgbImage, GenerateError> {
        let encoder = &mut self.encoder;
        let mut encode = || encoder.encode(skeleton).unsqueeze(0);
        match &mut self.model {
            StreamModel::Own(own) => own.generate(skeleton, encode),
            StreamModel::Batched(slot) => slot.generate(encode()),
        }
    }
}

impl OwnModel {
    /// [`FrameGenerator::generate`] on this thread; `encode` gives the pose's maps on the
    /// CPU where they are needed (Posewarp on CUDA draws its own).
    fn generate(
        &mut self,
        skeleton: &Skeleton,
        mut encode: impl FnMut() -> tch::Tensor,
    ) -> Result<RgbImage, GenerateError> {
        if !self.own_stream {
            // On the thread that generates: a stage's thread, one per stream of serve.
            self.own_stream = true;
            if let Err(e) = cuda_graph::use_own_stream(self.device) {
                tracing::warn!("{e}: generating on the default CUDA stream");
            }
        }
        let uploaded = match &mut self.pose_maps {
            Some(upload) => Some((upload.bytes(skeleton)?, upload.levels())),
            None => None,
        };
        let kind = self.kind;
        let image = guard::torch(|| {
            tch::no_grad(|| {
                let bytes = match (&self.generator, &mut self.sources) {
                    (Generator::Posewarp(g), Some(sources)) => sources.render(g, skeleton, encode),
                    (generator, _) => {
                        let (pose, levels) = match uploaded {
                            Some((bytes, levels)) => (bytes, Some(levels)),
                            None => (encode().to_device(self.device), None),
                        };
                        self.graph.run(&[&pose], |pose| {
                            let pose = match &levels {
                                Some(levels) => upload::as_maps(&pose[0], levels, kind),
                                None => pose[0].to_kind(kind),
                            };
                            let condition = Condition::pose(pose);
                            image_bytes(&generator.forward(&condition).get(0))
                        })
                    }
                };
                bytes_image(&bytes)
            })
        })?;
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::{self, DeviceChoice};
    use crate::model::{ArchConfig, CheckpointMeta, Preset};

    /// A checkpoint of untrained weights of `arch` at 64 px in `dir`; a Posewarp one carries
    /// three frames of `person`.
    pub(super) fn untrained(
        arch: ArchConfig,
        person: &crate::synth::SyntheticPerson,
        dir: &std::path::Path,
    ) -> std::path::PathBuf {
        let vs = VarStore::new(Device::Cpu);
        let _model = Generator::new(&vs.root(), &arch);
        save_at_64(&vs, arch, person, dir)
    }

    /// A shipped model's trained weights as a checkpoint at 64 px, as [`untrained`].
    pub(super) fn trained(
        builtin: crate::model::Builtin,
        person: &crate::synth::SyntheticPerson,
        dir: &std::path::Path,
    ) -> std::path::PathBuf {
        let loaded = builtin.load(Device::Cpu).unwrap();
        save_at_64(&loaded.gen_vs, loaded.meta.arch, person, dir)
    }

    fn save_at_64(
        vs: &VarStore,
        arch: ArchConfig,
        person: &crate::synth::SyntheticPerson,
        dir: &std::path::Path,
    ) -> std::path::PathBuf {
        use crate::model::checkpoint::Sources;
        use crate::model::{Examples, InputFormat};
        let path = dir.join(format!("{}.safetensors", arch.name()));
        let sources = (arch.input() == InputFormat::JointMaps24).then(|| {
            let shots: Vec<_> = [0.0, 1.0, 2.0]
                .iter()
                .map(|&t| person.render(t, 64, 64))
                .collect();
            let examples = Examples::new(InputFormat::JointMaps24, &shots).unwrap();
            Sources {
                frames: examples.frames.shallow_clone(),
                skeletons: examples.skeletons.clone(),
                masks: None,
            }
        });
        let meta = CheckpointMeta::new(arch, 64);
        checkpoint::save_with_sources(&path, vs, sources.as_ref(), &meta).unwrap();
        path
    }

    /// On a GPU machine run this test alone (filter by its full name): a libtorch call in an
    /// earlier test of the same process makes libtorch cache "no CUDA" ([`device`]).
    #[test]
    fn generates_frames_of_the_checkpoint_resolution_on_every_device_and_kind() {
        // CUDA first (libtorch must find it before other calls); the CPU always, in f32 and
        // in bf16 (native where the CPU has bf16 instructions, emulated elsewhere).
        let mut runs = vec![(Device::Cpu, Kind::Float), (Device::Cpu, Kind::BFloat16)];
        if let Ok(gpu @ Device::Cuda(_)) = device::select(DeviceChoice::Auto) {
            runs.push((gpu, Kind::BFloat16));
        }
        println!("generating on {runs:?}");
        let dir = tempfile::tempdir().unwrap();
        let person = crate::synth::SyntheticPerson::random(4);
        let skeleton = person.skeleton(2.6, 64, 64);
        // Trained weights: untrained Posewarp heads are zero, and its U-Nets would not show.
        use crate::model::{DEFAULT_AVATAR, POSEWARP_FAST_INIT, POSEWARP_INIT};
        for builtin in [DEFAULT_AVATAR, POSEWARP_INIT, POSEWARP_FAST_INIT] {
            let path = trained(builtin, &person, dir.path());
            let arch = checkpoint::load(&path, Device::Cpu).unwrap().meta.arch;
            let mut outputs = Vec::new();
            for &(device, kind) in &runs {
                let choice = ModelChoice::File(path.clone());
                let mut g = FrameGenerator::load_as(&choice, device, kind).unwrap();
                let target = g.normalize(&skeleton, (64, 64));
                let image = g.generate(&target).unwrap();
                assert_eq!((image.width, image.height), (64, 64), "{device:?} {kind:?}");
                // On CUDA the frames are graph replays (unless turned off): the comparisons
                // below then check the replays.
                let graphs = device.is_cuda() && crate::model::cuda_graph::enabled();
                assert_eq!(g.uses_cuda_graph(), graphs, "{device:?}: CUDA graph in use");
                // The picture follows the pose: nobody there gives another one.
                let empty = g.generate(&Skeleton::none()).unwrap();
                assert_ne!(
                    image, empty,
                    "{device:?} {kind:?}: the output ignores the pose"
                );
                outputs.push(image);
            }
            // bf16 has 8 bits of mantissa: the same weights give the same picture within a
            // few levels of 255 on average, where another pose differs by tens.
            let (f32_cpu, rest) = outputs.split_first().unwrap();
            for (image, (device, _)) in rest.iter().zip(&runs[1..]) {
                let gap = f32_cpu
                    .data
                    .iter()
                    .zip(&image.data)
                    .map(|(&a, &b)| (a as f64 - b as f64).abs())
                    .sum::<f64>()
                    / f32_cpu.data.len() as f64;
                println!(
                    "{}: f32 CPU against bf16 {device:?}: mean gap {gap:.2} levels",
                    arch.name()
                );
                assert!(
                    gap < 4.0,
                    "{}: bf16 on {device:?} strays {gap:.2} levels from f32 on the CPU",
                    arch.name()
                );
            }
        }
    }

    /// Streams `person`'s dance (4 s at 30 fps, 64 px) through the Posewarp checkpoint
    /// `model`, switches fading over `fade` frames: the largest change from one output frame
    /// to the next at a switch, over the median change, and how many switches there were.
    fn switch_jumps(
        model: &std::path::Path,
        person: &crate::synth::SyntheticPerson,
        fade: u32,
    ) -> (f64, u64) {
        let mut g = FrameGenerator::load(&ModelChoice::File(model.into()), Device::Cpu).unwrap();
        let StreamModel::Own(own) = &mut g.model else {
            unreachable!("loaded alone")
        };
        own.sources.as_mut().unwrap().fade_frames = fade;
        let (mut previous, mut changes, mut at_switch): (Option<RgbImage>, Vec<f64>, Vec<f64>) =
            (None, Vec::new(), Vec::new());
        for i in 0..120 {
            let before = g.source_switches();
            let image = g
                .generate(&person.skeleton(i as f32 / 30.0, 64, 64))
                .unwrap();
            if let Some(p) = &previous {
                let change = image
                    .data
                    .iter()
                    .zip(&p.data)
                    .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
                    .sum::<f64>()
                    / image.data.len() as f64;
                changes.push(change);
                if g.source_switches() > before {
                    at_switch.push(change);
                }
            }
            previous = Some(image);
        }
        let mut sorted = changes.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2].max(1e-9);
        let worst = at_switch.iter().copied().fold(0.0, f64::max);
        (worst / median, g.source_switches())
    }

    #[test]
    fn a_personalized_posewarp_streams_from_the_frames_it_carries() {
        use crate::synth::SyntheticPerson;
        let dir = tempfile::tempdir().unwrap();
        let person = SyntheticPerson::random(4);
        let arch = ArchConfig::posewarp(Preset::Lite);
        let with = untrained(arch, &person, dir.path());
        let without = dir.path().join("bare.safetensors");
        let vs = VarStore::new(Device::Cpu);
        let _model = Generator::new(&vs.root(), &arch);
        checkpoint::save_with_sources(&without, &vs, None, &CheckpointMeta::new(arch, 64)).unwrap();

        let mut g = FrameGenerator::load(&ModelChoice::File(with.clone()), Device::Cpu).unwrap();
        let (truth, pose) = person.render(2.6, 64, 64);
        let image = g.generate(&pose).unwrap();
        assert_eq!((image.width, image.height), (64, 64));
        // The person's own pixels, moved: nearer the real frame than the room alone is.
        let l1 = |a: &RgbImage| {
            a.data
                .iter()
                .zip(&truth.data)
                .map(|(&x, &y)| (x as f64 - y as f64).abs())
                .sum::<f64>()
                / truth.data.len() as f64
        };
        let empty = g.generate(&Skeleton::none()).unwrap();
        assert!(l1(&image) < l1(&empty), "{} vs {}", l1(&image), l1(&empty));

        // A dance driven frame by frame at 30 fps: switching source cross-fades.
        let (cut, cut_switches) = switch_jumps(&with, &person, 0);
        let (faded, switches) = switch_jumps(&with, &person, 4);
        println!(
            "{switches} switches in 120 frames: the frame after a switch changes {cut:.2}x the \
             median frame-to-frame change when cut, {faded:.2}x when cross-faded"
        );
        assert!(
            switches >= 2 && switches == cut_switches,
            "{switches} switches"
        );
        assert!(faded < 0.7 * cut, "faded {faded:.2}x against cut {cut:.2}x");

        let err = FrameGenerator::load(&ModelChoice::File(without.clone()), Device::Cpu)
            .err()
            .unwrap();
        assert!(matches!(err, GenerateError::NoSources(..)), "{err}");
        assert!(
            err.to_string()
                .contains("metapix personalize --arch posewarp"),
            "{err}"
        );
    }
}
