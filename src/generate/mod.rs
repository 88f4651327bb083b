//! The generate stage: driving skeleton -> normalized into the target's frame -> pose map ->
//! the personalized generator -> the target person in that pose.

use std::path::PathBuf;

use tch::nn::{Module, VarStore};
use tch::{Device, Kind};

use crate::model::checkpoint::{self, CheckpointError, CheckpointMeta};
use crate::model::Pose2Im;
use crate::render::normalize::{measure, NormStats, PoseNormalizer};
use crate::render::PoseMapRenderer;
use crate::model::io::{pose_tensor, tensor_image};
use crate::{RgbImage, Skeleton};

/// Refit the driving statistics after every frame until this many, then every this many.
const REFIT_EVERY: usize = 30;

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

/// A loaded generator and the state of its driving-pose normalization.
pub struct Generator {
    model: Pose2Im,
    _vs: VarStore,
    device: Device,
    meta: CheckpointMeta,
    renderer: PoseMapRenderer,
    /// Driving measurements so far, and the statistics last fitted from them.
    seen: Vec<(f32, f32, f32)>,
    source: Option<NormStats>,
}

impl Generator {
    /// Loads a checkpoint; on CUDA the weights are converted to bf16 (faster, and libtorch
    /// 2.11 prints a deprecation warning for every call through tch's autocast).
    pub fn load(choice: &ModelChoice, device: Device) -> Result<Self, CheckpointError> {
        let (mut vs, model, meta) = match choice {
            ModelChoice::File(path) => checkpoint::load(path, device)?,
            ModelChoice::DefaultAvatar => {
                let loaded = crate::model::DEFAULT_AVATAR.load(device)?;
                (loaded.gen_vs, loaded.generator, loaded.meta)
            }
        };
        if device.is_cuda() {
            vs.set_kind(Kind::BFloat16);
        }
        Ok(Self {
            model,
            _vs: vs,
            device,
            renderer: PoseMapRenderer::new(meta.resolution),
            meta,
            seen: Vec::new(),
            source: None,
        })
    }

    /// Side of the frames the generator makes.
    pub fn resolution(&self) -> u32 {
        self.meta.resolution
    }

    /// `skeleton` (driving-frame pixels) in the target's frame: fitted on the fly from the
    /// driving frames seen so far (refined as the stream goes on), mapped onto the target's
    /// statistics from the checkpoint. Until that is possible the driving frame
    /// (`width` x `height`) is only fitted into the generator's square.
    pub fn normalize(&mut self, skeleton: &Skeleton, (width, height): (u32, u32)) -> Skeleton {
        if let Some(m) = measure(skeleton) {
            self.seen.push(m);
            let n = self.seen.len();
            if n <= REFIT_EVERY || n % REFIT_EVERY == 0 {
                self.source = NormStats::fit_measurements(&self.seen).ok();
            }
        }
        match (self.source, self.meta.normalization) {
            (Some(source), Some(target)) => PoseNormalizer::new(source, target).apply(skeleton),
            _ => {
                let fit = crate::render::PanelFit::new(width, height, self.resolution());
                fit.skeleton(skeleton)
            }
        }
    }

    /// The target person in the pose of `skeleton` (already in the target's frame).
    pub fn generate(&mut self, skeleton: &Skeleton) -> RgbImage {
        let kind = if self.device.is_cuda() {
            Kind::BFloat16
        } else {
            Kind::Float
        };
        let pose = pose_tensor(&mut self.renderer, skeleton)
            .unsqueeze(0)
            .to_device(self.device)
            .to_kind(kind);
        tch::no_grad(|| {
            let out = self.model.forward(&pose);
            tensor_image(&out.get(0).to_kind(Kind::Float))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;
    use crate::model::device::{self, DeviceChoice};
    use crate::model::{CheckpointMeta, Pose2ImConfig};
    use crate::render::NUM_PARTS;

    #[test]
    fn generates_frames_of_the_checkpoint_resolution_on_every_device() {
        // CUDA first (libtorch must find it before other calls); the CPU always.
        let mut devices = vec![Device::Cpu];
        if let Ok(gpu @ Device::Cuda(_)) = device::select(DeviceChoice::Auto) {
            devices.push(gpu);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.safetensors");
        let vs = VarStore::new(Device::Cpu);
        let model = Pose2Im::new(&vs.root(), Pose2ImConfig::lite(NUM_PARTS as i64));
        checkpoint::save(&path, &vs, &CheckpointMeta::new(model.config, 64)).unwrap();
        let points: [[f32; 2]; NUM_LANDMARKS] =
            std::array::from_fn(|i| [10.0 + i as f32, 5.0 + 1.5 * i as f32]);
        let skeleton = Skeleton::from_points(&points);
        println!("generating on {devices:?}");
        for device in devices {
            let mut g = Generator::load(&ModelChoice::File(path.clone()), device).unwrap();
            let target = g.normalize(&skeleton, (64, 64));
            let image = g.generate(&target);
            assert_eq!((image.width, image.height), (64, 64), "{device:?}");
            assert!(
                image.data.iter().any(|&v| v != image.data[0]),
                "{device:?}: a flat image"
            );
        }
    }
}
