//! The generators and their checkpoints (tch: CUDA when present, else CPU).
//!
//! [`ArchConfig`] is the closed set of generator architectures a checkpoint can name, with
//! their sizes, and [`Generator`] one of them built. Together they are the one place an
//! architecture plugs in: how it is built, what it is conditioned on ([`Condition`]), how its
//! training batches are drawn from a person's frames ([`Examples`]), which frame sizes it
//! takes, and whether several run side by side as one grouped model. A new architecture is a
//! new variant of both; the compiler then lists every `match` that must learn it.

pub mod checkpoint;
pub mod cuda_graph;
pub mod device;
pub mod discriminator;
pub mod examples;
pub mod guard;
pub mod io;
mod layers;
pub mod plate;
pub mod pose2im;
pub mod posewarp;
pub mod rates;
#[cfg(test)]
mod tests;
pub mod unet;
pub mod warp;

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::nn::Module;
use tch::Tensor;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use device::DeviceChoice;
pub use discriminator::{PatchGan, PatchGanConfig};
pub use examples::{Batch, Examples};
pub use guard::TorchError;
pub use pose2im::{split_groups, Pose2Im, Pose2ImConfig};
pub use posewarp::{Posewarp, PosewarpConfig};

use crate::render::joints::{NUM_JOINTS, NUM_LIMBS};
use crate::render::{NUM_PARTS, POSE_MAP_FORMAT};

/// Largest frame side a generator is built for.
pub const MAX_SIZE: u32 = 4096;

/// A size every shipped preset of every architecture accepts: `metapix prepare` and
/// `metapix synth --prepared` choose sizes before anyone knows which generator will learn
/// from them.
pub const SIZE_MULTIPLE: u32 = 16;

/// A checkpoint built into the binaries, so it works from any folder with nothing given.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// How it is named in messages.
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// Its name only: the bytes are megabytes of weights.
impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Builtin({})", self.name)
    }
}

impl Builtin {
    /// The generator, and the discriminator when the checkpoint carries one.
    pub fn load(&self, device: tch::Device) -> Result<checkpoint::Loaded, CheckpointError> {
        checkpoint::load_bytes(std::path::Path::new(self.name), self.bytes, device)
    }
}

/// The shipped default avatar (models/README.md says how it was trained): what
/// `metapix-stream drive.mp4 out.mp4` renders.
pub const DEFAULT_AVATAR: Builtin = Builtin {
    name: "the built-in default avatar",
    bytes: include_bytes!("../../models/default-avatar.safetensors"),
};

/// The shipped meta-learned initialization (Reptile across synthetic people, with its
/// discriminator; models/README.md), where `metapix personalize` starts by default.
pub const METAPIX_INIT: Builtin = Builtin {
    name: "the built-in meta-learned init",
    bytes: include_bytes!("../../models/metapix-init-lite.safetensors"),
};

/// The shipped Posewarp init (joint training on pairs of synthetic people; models/README.md):
/// where `metapix personalize --arch posewarp` starts by default.
pub const POSEWARP_INIT: Builtin = Builtin {
    name: "the built-in Posewarp init",
    bytes: include_bytes!("../../models/posewarp-init-lite.safetensors"),
};

/// The shipped Posewarp init of the fast lite shape ([`PosewarpConfig::lite_fast`]): what
/// `metapix personalize --init posewarp-fast` starts from, for live use on a 2-core CPU.
pub const POSEWARP_FAST_INIT: Builtin = Builtin {
    name: "the built-in fast Posewarp init",
    bytes: include_bytes!("../../models/posewarp-fast-init.safetensors"),
};

/// The named shapes of each architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The paper's size.
    Paper,
    /// Small enough to run at 256x256 on a 2-core CPU.
    Lite,
    /// Lite made faster where that costs little: Posewarp's foreground at half size
    /// ([`PosewarpConfig::lite_fast`]). Pose2Im's lite is already its fast shape.
    LiteFast,
}

/// How a generator reads poses. Stored in checkpoints (`pose_map_format`), so a model never
/// reads poses drawn another way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One channel per body part, each its limbs drawn as thick strokes
    /// ([`crate::render::PoseMapRenderer`]).
    PartMaps18,
    /// Posewarp's: a Gaussian heatmap for each of the 14 MPII-style joints, then the soft
    /// masks of the 10 limbs ([`crate::render::joints`]).
    JointMaps24,
}

impl InputFormat {
    /// The name checkpoints store.
    pub fn id(self) -> &'static str {
        match self {
            InputFormat::PartMaps18 => POSE_MAP_FORMAT,
            InputFormat::JointMaps24 => "joint-heatmaps-14+limb-masks-10",
        }
    }

    /// Channels of one encoded pose.
    pub fn channels(self) -> i64 {
        match self {
            InputFormat::PartMaps18 => NUM_PARTS as i64,
            InputFormat::JointMaps24 => (NUM_JOINTS + NUM_LIMBS) as i64,
        }
    }
}

/// A generator architecture and its sizes, as a checkpoint names them: the JSON keys
/// `architecture` (the variant) and `generator` (its configuration), as v1 files have them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "architecture", content = "generator", rename_all = "lowercase")]
pub enum ArchConfig {
    /// The pix2pixHD global generator: the pose map in, the person out ([`Pose2Im`]).
    Pose2Im(Pose2ImConfig),
    /// Posewarp: the person's own pixels moved into the pose ([`Posewarp`]).
    Posewarp(PosewarpConfig),
}

/// A frame size a generator cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{size} px: {who} takes only sides that are multiples of {multiple}, from {multiple} to {MAX_SIZE}{hint}")]
pub struct BadSize {
    pub size: u32,
    pub multiple: u32,
    /// Whose constraint it is, in words ("the pose2im generator").
    pub who: &'static str,
    /// The nearest sizes that work, in words.
    hint: String,
}

impl BadSize {
    /// `size` checked against `multiple`, the constraint of `who`.
    pub fn check(size: u32, multiple: u32, who: &'static str) -> Result<u32, BadSize> {
        if size >= multiple && size <= MAX_SIZE && size % multiple == 0 {
            return Ok(size);
        }
        let top = MAX_SIZE / multiple * multiple;
        let below = (size / multiple * multiple).clamp(multiple, top);
        let above = (below + multiple).min(top);
        let hint = if below == above || size < multiple || size > MAX_SIZE {
            format!(" (say {below})")
        } else {
            format!(" (say {below} or {above})")
        };
        Err(BadSize {
            size,
            multiple,
            who,
            hint,
        })
    }
}

impl ArchConfig {
    /// The preset of the pose-to-image generator for this build's pose maps.
    pub fn pose2im(preset: Preset) -> Self {
        let channels = InputFormat::PartMaps18.channels();
        ArchConfig::Pose2Im(match preset {
            Preset::Paper => Pose2ImConfig::paper(channels),
            Preset::Lite | Preset::LiteFast => Pose2ImConfig::lite(channels),
        })
    }

    /// The preset of Posewarp.
    pub fn posewarp(preset: Preset) -> Self {
        let channels = InputFormat::JointMaps24.channels();
        ArchConfig::Posewarp(match preset {
            Preset::Paper => PosewarpConfig::paper(channels),
            Preset::Lite => PosewarpConfig::lite(channels),
            Preset::LiteFast => PosewarpConfig::lite_fast(channels),
        })
    }

    /// The architecture's name, as checkpoints store it.
    pub fn name(&self) -> &'static str {
        match self {
            ArchConfig::Pose2Im(_) => "pose2im",
            ArchConfig::Posewarp(_) => "posewarp",
        }
    }

    /// How it reads poses.
    pub fn input(&self) -> InputFormat {
        match self {
            ArchConfig::Pose2Im(_) => InputFormat::PartMaps18,
            ArchConfig::Posewarp(_) => InputFormat::JointMaps24,
        }
    }

    /// Whether it moves pixels of source frames of the person, which a personalized
    /// checkpoint then carries ([`checkpoint::SOURCE_PREFIX`]).
    pub fn needs_sources(&self) -> bool {
        matches!(self, ArchConfig::Posewarp(_))
    }

    /// Frame sides must be multiples of this.
    pub fn size_multiple(&self) -> u32 {
        match self {
            ArchConfig::Pose2Im(c) => c.size_multiple() as u32,
            ArchConfig::Posewarp(c) => c.size_multiple() as u32,
        }
    }

    /// `size` if this generator takes square frames of that side.
    pub fn check_size(&self, size: u32) -> Result<u32, BadSize> {
        let who = match self {
            ArchConfig::Pose2Im(_) => "the pose2im generator",
            ArchConfig::Posewarp(_) => "the posewarp generator",
        };
        BadSize::check(size, self.size_multiple(), who)
    }

    /// The discriminator trained beside it for the paper's GAN terms: it sees the condition's
    /// pose and an image.
    pub fn discriminator(&self) -> PatchGanConfig {
        let channels = self.input().channels() + 3;
        match self {
            ArchConfig::Pose2Im(c) if c.ngf >= 64 => PatchGanConfig::paper(channels),
            ArchConfig::Posewarp(c) if c.is_paper() => PatchGanConfig::paper(channels),
            _ => PatchGanConfig::lite(channels),
        }
    }

    /// Whether G models of this architecture can run as one grouped model ([`Generator::grouped`]).
    pub fn groups_side_by_side(&self) -> bool {
        match self {
            ArchConfig::Pose2Im(_) => true,
            ArchConfig::Posewarp(_) => false,
        }
    }
}

/// What a generator is conditioned on: the target pose, as its [`InputFormat`] encodes it
/// (N, C, H, W), and for architectures that move a source frame's pixels into that pose, the
/// source. A grouped generator takes its models' conditions side by side on the channels.
#[derive(Debug)]
pub struct Condition {
    pub pose: Tensor,
    pub source: Option<Source>,
}

/// A frame of the person and its encoded pose, to be moved into the condition's pose.
#[derive(Debug)]
pub struct Source {
    /// (N, 3, S, S) in -1..1.
    pub image: Tensor,
    /// (N, C, S, S), as the input format encodes it.
    pub pose: Tensor,
    /// (N, L, S, S, 2): for each limb, where each pixel of the condition's pose is found in
    /// the source ([`posewarp::limb_grids`]).
    pub grids: Tensor,
    /// (N, 3, S, S): the room without the person ([`plate::background_plate`] of the
    /// person's frames).
    pub background: Tensor,
    /// (N, 1, S, S) in 0..1: where the person is in the source, from the pose model's
    /// segmentation; None where it is not known (the limb masks alone then say).
    pub person: Option<Tensor>,
    /// (N, 1, S, S) u8: which layer each pixel of the source belongs to, where exactly
    /// known ([`Examples::parts`]): what the segmentation can be taught with.
    pub parts: Option<Tensor>,
}

impl Condition {
    /// A pose alone.
    pub fn pose(pose: Tensor) -> Self {
        Self { pose, source: None }
    }

    /// The conditions of a grouped model's groups, side by side on the channels.
    pub fn side_by_side(parts: &[Condition]) -> Self {
        let poses: Vec<&Tensor> = parts.iter().map(|c| &c.pose).collect();
        let sources: Option<Vec<&Source>> = parts.iter().map(|c| c.source.as_ref()).collect();
        Self {
            pose: Tensor::cat(&poses, 1),
            source: sources.filter(|s| !s.is_empty()).map(|s| {
                let cat = |field: fn(&Source) -> &Tensor| {
                    Tensor::cat(&s.iter().map(|s| field(s)).collect::<Vec<_>>(), 1)
                };
                let people: Option<Vec<&Tensor>> = s.iter().map(|s| s.person.as_ref()).collect();
                let parts: Option<Vec<&Tensor>> = s.iter().map(|s| s.parts.as_ref()).collect();
                Source {
                    image: cat(|s| &s.image),
                    pose: cat(|s| &s.pose),
                    grids: cat(|s| &s.grids),
                    background: cat(|s| &s.background),
                    person: people.map(|p| Tensor::cat(&p, 1)),
                    parts: parts.map(|p| Tensor::cat(&p, 1)),
                }
            }),
        }
    }

    /// On `device`, as `kind` (bf16 on CUDA).
    pub fn to(&self, device: tch::Device, kind: tch::Kind) -> Self {
        let move_ = |t: &Tensor| t.to_device(device).to_kind(kind);
        Self {
            pose: move_(&self.pose),
            source: self.source.as_ref().map(|s| Source {
                image: move_(&s.image),
                pose: move_(&s.pose),
                grids: move_(&s.grids),
                background: move_(&s.background),
                person: s.person.as_ref().map(move_),
                parts: s.parts.as_ref().map(|p| p.to_device(device)),
            }),
        }
    }
}

/// A built generator of one of the architectures: one model, or with [`Generator::grouped`]
/// several independent ones run as one.
#[derive(Debug)]
// A generator is built once per model and never copied: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Generator {
    Pose2Im(Pose2Im),
    Posewarp(Posewarp),
}

impl Generator {
    /// The generator `arch` describes, its variables under `p`.
    pub fn new(p: &nn::Path, arch: &ArchConfig) -> Self {
        match arch {
            ArchConfig::Pose2Im(c) => Generator::Pose2Im(Pose2Im::new(p, *c)),
            ArchConfig::Posewarp(c) => Generator::Posewarp(Posewarp::new(p, *c)),
        }
    }

    /// `groups` independent generators of `arch` as one model, where the architecture can do
    /// that ([`ArchConfig::groups_side_by_side`]): Reptile personalizes a meta-batch of people
    /// with it in one pass per step. Each variable holds the groups' variables stacked on its
    /// first dimension ([`split_groups`]).
    pub fn grouped(p: &nn::Path, arch: &ArchConfig, groups: usize) -> Option<Self> {
        match arch {
            ArchConfig::Pose2Im(c) => {
                Some(Generator::Pose2Im(Pose2Im::grouped(p, *c, groups as i64)))
            }
            ArchConfig::Posewarp(_) => None,
        }
    }

    pub fn arch(&self) -> ArchConfig {
        match self {
            Generator::Pose2Im(g) => ArchConfig::Pose2Im(g.config),
            Generator::Posewarp(g) => ArchConfig::Posewarp(g.config),
        }
    }

    /// Models held side by side (1: an ordinary generator).
    pub fn groups(&self) -> i64 {
        match self {
            Generator::Pose2Im(g) => g.groups,
            Generator::Posewarp(_) => 1,
        }
    }

    /// Frames (N, 3 x groups, H, W) in -1..1 for `condition`.
    pub fn forward(&self, condition: &Condition) -> Tensor {
        match self {
            Generator::Pose2Im(g) => g.forward(&condition.pose),
            Generator::Posewarp(g) => g.forward(condition),
        }
    }

    /// [`Self::forward`], and the segmentation's loss against the sources' exact part
    /// labels where the architecture segments and the condition carries them.
    pub fn forward_with_parts(&self, condition: &Condition) -> (Tensor, Option<Tensor>) {
        match self {
            Generator::Pose2Im(g) => (g.forward(&condition.pose), None),
            Generator::Posewarp(g) => g.forward_with_parts(condition),
        }
    }

    /// Which layer the generator's segmentation puts each pixel of `examples`' frames in
    /// (N, S, S; [`Posewarp::layer_labels`]), eight frames at a time and without gradients:
    /// what the benchmark scores against exact part labels. None for an architecture that
    /// does not segment.
    pub fn layer_labels(&self, examples: &Examples) -> Result<Option<Tensor>, TorchError> {
        let Generator::Posewarp(g) = self else {
            return Ok(None);
        };
        eight_at_a_time(examples.len() as i64, |start, len| {
            let some = |t: &Tensor| t.narrow(0, start, len);
            let person = examples.masks.as_ref().map(some);
            g.layer_labels(
                &some(&examples.frames),
                &some(&examples.poses),
                person.as_ref(),
            )
        })
        .map(Some)
    }

    /// A training batch from `examples`: frames `indices` as the targets to render, and what
    /// the architecture is conditioned on for each. Posewarp learns from pairs: each target's
    /// source is another frame of the same person, drawn with `rng`.
    pub(crate) fn batch(
        &self,
        examples: &Examples,
        indices: &[i64],
        rng: &mut crate::base::rng::SplitMix64,
    ) -> Batch {
        let picked = examples.select(indices);
        match self {
            Generator::Pose2Im(_) => Batch {
                condition: Condition::pose(picked.poses.shallow_clone()),
                real: picked.frames,
            },
            Generator::Posewarp(_) => posewarp::letterboxed(
                Batch {
                    condition: examples.moved_into(&examples.pair_sources(indices, rng), &picked),
                    real: picked.frames,
                },
                rng,
            ),
        }
    }

    /// The generator's frames for the poses of `wanted`, eight at a time and without
    /// gradients: what the benchmark and personalization score. Posewarp moves the shot
    /// nearest in pose to each (`shots` are one person's frames).
    pub fn render(&self, shots: &Examples, wanted: &Examples) -> Result<Tensor, TorchError> {
        eight_at_a_time(wanted.len() as i64, |start, len| {
            let idx: Vec<i64> = (start..start + len).collect();
            let targets = wanted.select(&idx);
            self.forward(&self.condition_for(shots, &targets))
        })
    }

    /// `targets` as a batch rendered from `shots` the way [`Self::render`] renders them
    /// (Posewarp: from the nearest shot), with gradients: how personalized weights are
    /// scored on a person's other frames when learning layer rates.
    pub(crate) fn scoring_batch(&self, shots: &Examples, targets: &Examples) -> Batch {
        Batch {
            condition: self.condition_for(shots, targets),
            real: targets.frames.shallow_clone(),
        }
    }

    /// What the generator is conditioned on to render `targets`' poses from `shots`.
    fn condition_for(&self, shots: &Examples, targets: &Examples) -> Condition {
        match self {
            Generator::Pose2Im(_) => Condition::pose(targets.poses.shallow_clone()),
            Generator::Posewarp(_) => {
                let nearest: Vec<i64> =
                    examples::nearest_shots(&shots.skeletons, &targets.skeletons)
                        .into_iter()
                        .map(|i| i as i64)
                        .collect();
                shots.moved_into(&nearest, targets)
            }
        }
    }
}

/// `chunk(start, len)` over items `0..n` eight at a time, without gradients, concatenated on
/// the first dimension: whole test sets do not fit a small GPU in one batch.
fn eight_at_a_time(n: i64, chunk: impl Fn(i64, i64) -> Tensor) -> Result<Tensor, TorchError> {
    guard::torch(|| {
        tch::no_grad(|| {
            let chunks: Vec<Tensor> = (0..n)
                .step_by(8)
                .map(|start| chunk(start, 8.min(n - start)))
                .collect();
            Tensor::cat(&chunks, 0)
        })
    })
}
