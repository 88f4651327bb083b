//! Checkpoints: safetensors weights with the metadata needed to use them in the same file
//! (architecture and sizes, resolution, pose-map format, the target's normalization
//! statistics, how it was trained). Writes are atomic; a file that does not match the code
//! is refused with an error naming the difference, never loaded into the wrong shape.
//!
//! The layout is the same for every architecture: the metadata's `architecture` and
//! `generator` keys are [`ArchConfig`]'s, the generator's tensors carry their plain names,
//! and tensors under a reserved prefix ([`DISCRIMINATOR_PREFIX`], [`SOURCE_PREFIX`]) belong to
//! what a checkpoint carries beside the generator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use super::discriminator::{PatchGan, PatchGanConfig};
use super::rates::LayerRates;
use super::{ArchConfig, Generator};
use crate::base::skeleton::{Landmark, NUM_LANDMARKS};
use crate::render::normalize::NormStats;
use crate::Skeleton;

/// Identifies this layout of checkpoint files.
pub const CHECKPOINT_FORMAT: &str = "metapix-checkpoint-v1";
/// The metadata key under which [`CheckpointMeta`] is stored as JSON.
const META_KEY: &str = "metapix";
/// Prefix of the discriminator's tensor names in a checkpoint.
pub const DISCRIMINATOR_PREFIX: &str = "discriminator.";
/// Prefix of what a personalized checkpoint carries of its target for architectures that
/// move the target's own pixels (source frames, masks); not generator weights.
pub const SOURCE_PREFIX: &str = "source.";
/// The architecture names this build reads, for messages.
const KNOWN_ARCHITECTURES: &str = "pose2im posewarp";
/// The target's frames (K, 3, S, S) in -1..1, under [`SOURCE_PREFIX`].
const SOURCE_FRAMES: &str = "source.frames";
/// Their skeletons (K, 33, 5): x, y, z, visibility, presence of each landmark.
const SOURCE_LANDMARKS: &str = "source.landmarks";
/// Where the person is in each (K, 1, S, S) in 0..1, when the target had masks.
const SOURCE_MASKS: &str = "source.masks";

/// Everything a checkpoint says about its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    /// The architecture and its sizes (the keys `architecture` and `generator`).
    #[serde(flatten)]
    pub arch: ArchConfig,
    /// Side of the square frames the generator was trained at.
    pub resolution: u32,
    /// How the generator reads poses ([`super::InputFormat::id`]).
    pub pose_map_format: String,
    /// The target's pose statistics, for normalizing driving skeletons.
    pub normalization: Option<NormStats>,
    /// How the weights were made (init, K, T, data, ...), free-form.
    pub training: serde_json::Value,
    /// The discriminator stored beside the generator (its tensors are named
    /// `discriminator.*`): meta-learned initializations carry one, as Reptile updates both.
    #[serde(default)]
    pub discriminator: Option<PatchGanConfig>,
    /// Personalization's learning-rate multiplier per generator tensor, meta-learned with
    /// the weights; absent means uniform.
    #[serde(default, skip_serializing_if = "LayerRates::is_uniform")]
    pub inner_lr: LayerRates,
}

impl CheckpointMeta {
    pub fn new(arch: ArchConfig, resolution: u32) -> Self {
        Self {
            format: CHECKPOINT_FORMAT.into(),
            arch,
            resolution,
            pose_map_format: arch.input().id().into(),
            normalization: None,
            training: serde_json::Value::Null,
            discriminator: None,
            inner_lr: LayerRates::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a safetensors checkpoint (corrupt or another kind of file): {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path} is not a metapix checkpoint of a format this build reads: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("checkpoint {path} does not match its architecture: {reason}")]
    Mismatch { path: PathBuf, reason: String },
}

/// Writes the variables of `vs` (as f32) with `meta`, atomically.
pub fn save(path: &Path, vs: &nn::VarStore, meta: &CheckpointMeta) -> Result<(), CheckpointError> {
    save_with_discriminator(path, vs, None, meta)
}

/// Writes the generator's variables and, if given, the discriminator's (whose shape must be
/// `meta.discriminator`), atomically.
pub fn save_with_discriminator(
    path: &Path,
    vs: &nn::VarStore,
    discriminator: Option<&nn::VarStore>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    if let Some(d) = discriminator {
        named.extend(
            d.variables()
                .into_iter()
                .map(|(name, t)| (format!("{DISCRIMINATOR_PREFIX}{name}"), t)),
        );
    }
    write(path, named, meta)
}

/// The frames of its person a personalized checkpoint carries, for architectures that move
/// their pixels ([`ArchConfig::needs_sources`]).
#[derive(Debug)]
pub struct Sources {
    /// (K, 3, S, S) in -1..1.
    pub frames: Tensor,
    pub skeletons: Vec<Skeleton>,
    /// (K, 1, S, S) in 0..1: the person's segmentation, when the target had one.
    pub masks: Option<Tensor>,
}

/// Writes the generator's variables and, if given, the frames of its person, atomically.
pub fn save_with_sources(
    path: &Path,
    vs: &nn::VarStore,
    sources: Option<&Sources>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    if let Some(sources) = sources {
        let values: Vec<f32> = sources
            .skeletons
            .iter()
            .flat_map(|s| &s.landmarks)
            .flat_map(|l| [l.x, l.y, l.z, l.visibility, l.presence])
            .collect();
        let k = sources.skeletons.len() as i64;
        let landmarks = Tensor::from_slice(&values).view([k, NUM_LANDMARKS as i64, 5]);
        named.push((SOURCE_FRAMES.into(), sources.frames.shallow_clone()));
        named.push((SOURCE_LANDMARKS.into(), landmarks));
        if let Some(masks) = &sources.masks {
            named.push((SOURCE_MASKS.into(), masks.shallow_clone()));
        }
    }
    write(path, named, meta)
}

/// Writes `named` tensors (as f32) with `meta`, atomically.
fn write(
    path: &Path,
    mut named: Vec<(String, Tensor)>,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let write_err = |source| CheckpointError::Write {
        path: path.to_path_buf(),
        source,
    };
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = named
        .iter()
        .map(|(name, t)| {
            let t = t
                .detach()
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous();
            let shape = t.size().iter().map(|&d| d as usize).collect();
            let values = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32 tensor converts");
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), shape, bytes)
        })
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes).expect("sizes agree");
            (name.as_str(), view)
        })
        .collect();
    let json = serde_json::to_string(meta).expect("metadata serializes");
    let info = HashMap::from([(META_KEY.to_string(), json)]);
    let bytes = safetensors::serialize(views, Some(info))
        .map_err(|e| write_err(std::io::Error::other(e.to_string())))?;
    crate::base::fsutil::write_atomic(path, &bytes).map_err(write_err)
}

/// Reads only the metadata of a checkpoint.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_meta(path, &bytes)
}

fn parse_meta(path: &Path, bytes: &[u8]) -> Result<CheckpointMeta, CheckpointError> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let format = |reason: String| CheckpointError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| format("no metapix metadata".into()))?;
    // The names first, so that a newer file says what it is rather than failing to parse.
    let raw: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format(format!("unreadable metadata ({e})")))?;
    let named = |key: &str| {
        let value = raw.get(key).and_then(|v| v.as_str());
        value.unwrap_or("none").to_string()
    };
    if named("format") != CHECKPOINT_FORMAT {
        return Err(format(format!(
            "format {} (this build reads {CHECKPOINT_FORMAT})",
            named("format")
        )));
    }
    let architecture = named("architecture");
    if !KNOWN_ARCHITECTURES
        .split(' ')
        .any(|a| a == architecture.as_str())
    {
        return Err(format(format!(
            "architecture {architecture} (this build has {KNOWN_ARCHITECTURES})"
        )));
    }
    let meta: CheckpointMeta =
        serde_json::from_value(raw).map_err(|e| format(format!("unreadable metadata ({e})")))?;
    let expected = meta.arch.input().id();
    if meta.pose_map_format != expected {
        return Err(format(format!(
            "pose maps {} (this build draws {expected} for {architecture})",
            meta.pose_map_format
        )));
    }
    // Checked before anything is built: a zero or huge side would fail deep in libtorch.
    meta.arch
        .check_size(meta.resolution)
        .map_err(|e| format(format!("resolution {e}")))?;
    Ok(meta)
}

/// A checkpoint's generator and, when it carries one, its discriminator.
pub struct Loaded {
    pub gen_vs: nn::VarStore,
    pub generator: Generator,
    pub meta: CheckpointMeta,
    pub discriminator: Option<(nn::VarStore, PatchGan)>,
    /// The frames of its person, when it carries them (personalized Posewarp).
    pub sources: Option<Sources>,
}

/// Loads everything in a checkpoint file onto `device`, reading it once.
pub fn load(path: &Path, device: Device) -> Result<Loaded, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(path, &bytes, device)
}

/// [`load`] for a checkpoint in memory; `path` only names it in errors.
pub fn load_bytes(path: &Path, bytes: &[u8], device: Device) -> Result<Loaded, CheckpointError> {
    let meta = parse_meta(path, bytes)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mismatch = |reason: String| CheckpointError::Mismatch {
        path: path.to_path_buf(),
        reason,
    };
    // Built and filled on the CPU, then moved: a build draws random initial weights, which on
    // CUDA fails while another thread captures a graph (model/cuda_graph.rs).
    let mut gen_vs = nn::VarStore::new(Device::Cpu);
    let generator = Generator::new(&gen_vs.root(), &meta.arch);
    fill(&file, "", &mut gen_vs).map_err(mismatch)?;
    gen_vs.set_device(device);
    let discriminator = match meta.discriminator {
        Some(config) => {
            let mut vs = nn::VarStore::new(Device::Cpu);
            let model = PatchGan::new(&vs.root(), config);
            fill(&file, DISCRIMINATOR_PREFIX, &mut vs).map_err(mismatch)?;
            vs.set_device(device);
            Some((vs, model))
        }
        None => None,
    };
    let sources = read_sources(&file, meta.resolution).map_err(mismatch)?;
    Ok(Loaded {
        gen_vs,
        generator,
        meta,
        discriminator,
        sources,
    })
}

/// The source frames and skeletons in `file`, checked against each other and the
/// resolution; None when it carries none.
fn read_sources(file: &SafeTensors, resolution: u32) -> Result<Option<Sources>, String> {
    let (Ok(frames), Ok(landmarks)) = (file.tensor(SOURCE_FRAMES), file.tensor(SOURCE_LANDMARKS))
    else {
        return Ok(None);
    };
    let k = frames.shape().first().copied().unwrap_or(0);
    let side = resolution as usize;
    if k == 0
        || frames.dtype() != Dtype::F32
        || landmarks.dtype() != Dtype::F32
        || frames.shape() != [k, 3, side, side]
        || landmarks.shape() != [k, NUM_LANDMARKS, 5]
    {
        return Err(format!(
            "source frames {:?} and landmarks {:?} do not fit {k} frames of {side} px",
            frames.shape(),
            landmarks.shape()
        ));
    }
    let shape: Vec<i64> = frames.shape().iter().map(|&d| d as i64).collect();
    let skeletons = f32_values(&landmarks)
        .chunks_exact(NUM_LANDMARKS * 5)
        .map(|points| Skeleton {
            landmarks: points
                .chunks_exact(5)
                .map(|v| Landmark {
                    x: v[0],
                    y: v[1],
                    z: v[2],
                    visibility: v[3],
                    presence: v[4],
                })
                .collect(),
        })
        .collect();
    let masks = match file.tensor(SOURCE_MASKS) {
        Err(_) => None,
        Ok(m) if m.dtype() == Dtype::F32 && m.shape() == [k, 1, side, side] => {
            Some(Tensor::from_slice(&f32_values(&m)).view([k as i64, 1, side as i64, side as i64]))
        }
        Ok(m) => {
            return Err(format!(
                "source masks {:?} do not fit {k} frames of {side} px",
                m.shape()
            ))
        }
    };
    Ok(Some(Sources {
        frames: Tensor::from_slice(&f32_values(&frames)).view(shape.as_slice()),
        skeletons,
        masks,
    }))
}

/// Copies the tensors named `prefix` + variable name from `file` into `vs` (f32), checking
/// that the file holds exactly those under that prefix.
fn fill(file: &SafeTensors, prefix: &str, vs: &mut nn::VarStore) -> Result<(), String> {
    let variables = vs.variables();
    let in_file = file
        .names()
        .iter()
        .filter(|n| match prefix {
            "" => ![DISCRIMINATOR_PREFIX, SOURCE_PREFIX]
                .iter()
                .any(|p| n.starts_with(p)),
            p => n.starts_with(p),
        })
        .count();
    if in_file != variables.len() {
        return Err(format!(
            "{in_file} tensors in the file, {} in the architecture",
            variables.len()
        ));
    }
    tch::no_grad(|| -> Result<(), String> {
        for (name, mut var) in variables {
            let view = file
                .tensor(&format!("{prefix}{name}"))
                .map_err(|_| format!("tensor {prefix}{name} is missing"))?;
            let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            if shape != var.size() || view.dtype() != Dtype::F32 {
                return Err(format!(
                    "tensor {prefix}{name} is {:?} {shape:?}, expected F32 {:?}",
                    view.dtype(),
                    var.size()
                ));
            }
            let values = f32_values(&view);
            var.copy_(&Tensor::from_slice(&values).view(shape.as_slice()));
        }
        Ok(())
    })?;
    vs.set_kind(Kind::Float);
    Ok(())
}

/// The values of an F32 tensor in a file.
fn f32_values(view: &TensorView<'_>) -> Vec<f32> {
    view.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
