//! `metapix personalize DIR --out me.safetensors`: the few-shot personalization of MetaPix
//! on a prepared target: K frames chosen by the paper's protocol, T steps from an init (a
//! checkpoint, the shipped default avatar, or random weights of a preset), scored on the held-out last 15% before and
//! after, saved with everything needed to use it.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use tch::nn::{Module, VarStore};
use tch::Device;

use super::dataset::PreparedTarget;
use super::JobError;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::discriminator::{PatchGan, PatchGanConfig};
use crate::model::{Builtin, Pose2Im, Pose2ImConfig, DEFAULT_AVATAR, METAPIX_INIT};
use crate::render::NUM_PARTS;
use crate::train::rates::LayerRates;
use crate::train::{data, personalize, PersonalizeConfig};

/// Held-out frames scored at most (spread over the last 15%).
const MAX_TEST_FRAMES: usize = 16;

/// Where personalization starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// A checkpoint shipped in the binaries: the meta-learned init or the default avatar.
    Builtin(Builtin),
    /// A checkpoint file.
    Checkpoint(PathBuf),
    /// Random weights of a preset (`lite` or `paper`).
    Random(String),
}

impl Init {
    /// From the command line: `--init FILE|metapix|avatar|random` and `--preset` (which
    /// means random weights); neither gives the meta-learned init.
    pub fn from_args(init: Option<&str>, preset: Option<&str>) -> Result<Self, JobError> {
        match (init, preset) {
            (None | Some("metapix"), None) => Ok(Init::Builtin(METAPIX_INIT)),
            (Some("avatar"), None) => Ok(Init::Builtin(DEFAULT_AVATAR)),
            (None | Some("random"), preset) => Ok(Init::Random(preset.unwrap_or("lite").into())),
            (Some(path), None) => Ok(Init::Checkpoint(path.into())),
            (Some(_), Some(_)) => Err(JobError::InvalidArgument(
                "--preset applies to --init random only (a checkpoint has its own)".into(),
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PersonalizeJob {
    pub target: PathBuf,
    pub out: PathBuf,
    pub init: Init,
    pub device: DeviceChoice,
    pub config: PersonalizeConfig,
}

/// What a personalization did.
#[derive(Debug, Clone)]
pub struct PersonalizeSummary {
    pub shots: Vec<usize>,
    pub seconds: f64,
    /// Held-out (L1, PSNR dB) before and after.
    pub before: (f64, f64),
    pub after: (f64, f64),
    pub test_frames: usize,
}

/// A generator and discriminator ready to train, and what they started from.
pub struct Models {
    pub gen_vs: VarStore,
    pub generator: Pose2Im,
    pub disc_vs: VarStore,
    pub discriminator: PatchGan,
    /// The init's per-layer learning-rate multipliers (uniform unless meta-learned).
    pub rates: LayerRates,
    pub init_name: String,
}

impl Models {
    /// Personalizes these models on `shots` ([`personalize`]).
    pub fn personalize(
        &self,
        shots: &crate::train::Shots,
        config: &PersonalizeConfig,
    ) -> Result<crate::train::TrainLog, JobError> {
        personalize(
            &self.generator,
            &self.gen_vs,
            &self.discriminator,
            &self.disc_vs,
            shots,
            config,
            &self.rates,
        )
        .map_err(|e| JobError::InvalidArgument(format!("training failed: {e}")))
    }
}

impl Init {
    /// Builds the models on `device`: the generator from the init, the discriminator from
    /// the init when it carries one (meta-learned inits do), else fresh weights sized for
    /// the generator.
    pub fn build(&self, device: Device) -> Result<Models, JobError> {
        let channels = NUM_PARTS as i64;
        let (gen_vs, generator, init_name, stored, rates) = match self {
            Init::Checkpoint(path) => {
                let l = checkpoint::load_all(path, device)?;
                let name = path.display().to_string();
                (
                    l.gen_vs,
                    l.generator,
                    name,
                    l.discriminator,
                    l.meta.inner_lr,
                )
            }
            Init::Builtin(builtin) => {
                let l = builtin.load(device)?;
                let name = builtin.name.to_string();
                (
                    l.gen_vs,
                    l.generator,
                    name,
                    l.discriminator,
                    l.meta.inner_lr,
                )
            }
            Init::Random(preset) => {
                let config = Pose2ImConfig::preset(preset, channels).ok_or_else(|| {
                    JobError::InvalidArgument(format!("--preset {preset}: use lite or paper"))
                })?;
                let vs = VarStore::new(device);
                let model = Pose2Im::new(&vs.root(), config);
                let name = format!("random {preset}");
                (vs, model, name, None, LayerRates::default())
            }
        };
        let (disc_vs, discriminator) = stored.unwrap_or_else(|| {
            let config = PatchGanConfig::for_generator(&generator.config, channels + 3);
            let vs = VarStore::new(device);
            let model = PatchGan::new(&vs.root(), config);
            (vs, model)
        });
        Ok(Models {
            gen_vs,
            generator,
            disc_vs,
            discriminator,
            rates,
            init_name,
        })
    }
}

impl PersonalizeJob {
    pub fn run(&self) -> Result<PersonalizeSummary, JobError> {
        if self.config.shots == 0 || self.config.batch == 0 {
            return Err(JobError::InvalidArgument(
                "--shots and --batch must be at least 1".into(),
            ));
        }
        let device =
            device::select(self.device).map_err(|e| JobError::InvalidArgument(e.to_string()))?;
        let target = PreparedTarget::open(&self.target)?;
        // Only frames with the person count, for training and for testing.
        if target.usable.len() < self.config.shots + 1 {
            return Err(JobError::InvalidArgument(format!(
                "{} has {} frames with the person; at least {} are needed",
                self.target.display(),
                target.usable.len(),
                self.config.shots + 1
            )));
        }
        let shots = target.protocol_shots(self.config.shots);
        let tests = target.test_frames(MAX_TEST_FRAMES);
        let train = target.load(&shots)?.to_device(device);
        let test = target.load(&tests)?.to_device(device);
        let m = self.init.build(device)?;

        let score =
            |g: &Pose2Im| tch::no_grad(|| data::l1_psnr(&g.forward(&test.poses), &test.images));
        let before = score(&m.generator);
        let started = Instant::now();
        m.personalize(&train, &self.config)?;
        let seconds = started.elapsed().as_secs_f64();
        let after = score(&m.generator);

        let info = &target.info;
        let mut meta = CheckpointMeta::new(m.generator.config, info.size);
        meta.normalization = Some(info.normalization);
        meta.training = json!({
            "method": "metapix personalize",
            "init": m.init_name,
            "target": info.source,
            "shots": shots,
            "config": self.config,
            "layer_rates": m.rates,
            "held_out": {"frames": tests.len(), "l1_before": before.0, "psnr_before": before.1,
                         "l1_after": after.0, "psnr_after": after.1},
        });
        checkpoint::save(&self.out, &m.gen_vs, &meta)?;
        Ok(PersonalizeSummary {
            shots,
            seconds,
            before,
            after,
            test_frames: tests.len(),
        })
    }
}
