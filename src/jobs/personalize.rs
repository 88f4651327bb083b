//! `metapix personalize DIR --out me.safetensors`: the few-shot personalization of MetaPix
//! on a prepared target: K frames chosen by the paper's protocol, T steps from an init (a
//! checkpoint, a built-in one, or random weights), scored on the held-out last 15% before
//! and after, saved with everything needed to use it. Weights that fell apart on the
//! held-out frames are not saved: the init's are.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;

use super::dataset::PreparedTarget;
use super::JobError;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::{Examples, Generator};
use crate::train::{data, personalize, Init, Loss, PersonalizeConfig, Task};

/// Held-out frames scored at most (spread over the last 15%).
const MAX_TEST_FRAMES: usize = 16;

/// A personalization that leaves the held-out frames this much worse (PSNR dB) than the init
/// did has fallen apart, and the init's weights are kept instead. Over the 2,160 personalized
/// cells of issue 12's grids the held-out PSNR never fell more than 0.85 dB below T 0, except
/// where training came apart: 6.6-22 dB, one synthetic person at T 100 on the GPU, from
/// either Posewarp init (docs/RESULTS.md, thirteenth session).
pub const FELL_APART_DB: f64 = 2.0;

#[derive(Debug, Clone)]
pub struct PersonalizeJob {
    pub target: PathBuf,
    pub out: PathBuf,
    pub init: Init,
    pub device: DeviceChoice,
    /// K, T, batch, optimizer; its seed also draws random weights. Its `adversarial` is
    /// set from `loss` once the init's architecture is known.
    pub config: PersonalizeConfig,
    pub loss: Loss,
}

/// What a personalization did.
#[derive(Debug, Clone)]
pub struct PersonalizeSummary {
    pub shots: Vec<usize>,
    /// Steps taken.
    pub steps: usize,
    pub seconds: f64,
    /// Held-out (L1, PSNR dB) before and after.
    pub before: (f64, f64),
    pub after: (f64, f64),
    pub test_frames: usize,
    /// The trained weights fell apart on the held-out frames ([`FELL_APART_DB`]), so the
    /// checkpoint holds the init's; `after` is what the trained ones scored.
    pub kept_init: bool,
}

/// Mean L1 and PSNR of `generator` on `examples`, rendered from `shots`.
fn score(
    generator: &Generator,
    shots: &Examples,
    examples: &Examples,
) -> Result<(f64, f64), JobError> {
    let fake = generator.render(shots, examples)?;
    Ok(data::l1_psnr(&fake, &examples.frames))
}

impl PersonalizeJob {
    pub fn run(&self) -> Result<PersonalizeSummary, JobError> {
        if self.config.shots == 0 || self.config.batch == 0 {
            return Err(JobError::InvalidArgument(
                "--shots and --batch must be at least 1".into(),
            ));
        }
        let device = device::select(self.device)?;
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
        let mut m = self.init.build(device, self.config.seed)?;
        let arch = m.generator.arch();
        target.check_fits(&arch)?;
        let shots = target.protocol_shots(self.config.shots);
        let tests = target.test_frames(MAX_TEST_FRAMES);
        let train = target.examples(&shots, arch.input())?.to_device(device);
        let test = target.examples(&tests, arch.input())?.to_device(device);

        let before = score(&m.generator, &train, &test)?;
        let started = Instant::now();
        let task = Task {
            examples: &train,
            seed: self.config.seed,
        };
        let config = PersonalizeConfig {
            adversarial: self.loss.adversarial(&arch),
            ..self.config
        };
        let fitted = config.for_shots(&arch, shots.len());
        if fitted.steps < config.steps {
            tracing::warn!(
                "one frame: posewarp has no pair of frames to learn from; no steps taken"
            );
        }
        let config = fitted;
        let init = m.copy().map_err(crate::train::TrainError::from)?;
        personalize(m.trainee(), &[task], &config, &m.rates, &mut |_, _| {
            ControlFlow::Continue(())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let after = score(&m.generator, &train, &test)?;
        // NaN counts as fallen apart too.
        let kept_init = after.1.is_nan() || after.1 < before.1 - FELL_APART_DB;
        if kept_init {
            m.gen_vs
                .copy(&init.gen_vs)
                .map_err(crate::train::TrainError::from)?;
        }

        let info = &target.info;
        let mut meta = CheckpointMeta::new(arch, info.size);
        meta.normalization = Some(info.normalization);
        meta.training = json!({
            "method": "metapix personalize",
            "init": m.init_name,
            "target": info.source,
            "shots": shots,
            "config": config,
            "layer_rates": m.rates,
            "held_out": {"frames": tests.len(), "l1_before": before.0, "psnr_before": before.1,
                         "l1_after": after.0, "psnr_after": after.1, "kept_init": kept_init},
        });
        // Posewarp moves the shots' pixels: the checkpoint carries them.
        let sources = arch.needs_sources().then(|| checkpoint::Sources {
            frames: train.frames.to_device(tch::Device::Cpu),
            skeletons: train.skeletons.clone(),
            masks: train.masks.as_ref().map(|m| m.to_device(tch::Device::Cpu)),
        });
        checkpoint::save_with_sources(&self.out, &m.gen_vs, sources.as_ref(), &meta)?;
        Ok(PersonalizeSummary {
            steps: config.steps,
            shots,
            seconds,
            before,
            after,
            test_frames: tests.len(),
            kept_init,
        })
    }
}
