//! `metapix personalize DIR --out me.safetensors`: the few-shot personalization of MetaPix
//! on a prepared target: K frames chosen by the paper's protocol, T steps from an init (a
//! checkpoint, the shipped default avatar, or random weights of a preset), scored on the held-out last 15% before and
//! after, saved with everything needed to use it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use tch::nn::{Module, VarStore};

use super::prepare::TargetInfo;
use super::JobError;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::discriminator::{PatchGan, PatchGanConfig};
use crate::model::{Pose2Im, Pose2ImConfig};
use crate::posefile;
use crate::render::NUM_PARTS;
use crate::train::{data, personalize, PersonalizeConfig, Shots};
use crate::RgbImage;

/// Held-out frames scored at most (spread over the last 15%).
const MAX_TEST_FRAMES: usize = 16;

/// Where personalization starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// The shipped default avatar: trained weights, so 20 steps go further than from noise.
    DefaultAvatar,
    /// A checkpoint file.
    Checkpoint(PathBuf),
    /// Random weights of a preset (`lite` or `paper`).
    Random(String),
}

impl Init {
    /// From the command line: `--init FILE|random` and `--preset` (which means random weights).
    pub fn from_args(init: Option<&str>, preset: Option<&str>) -> Result<Self, JobError> {
        match (init, preset) {
            (None, None) => Ok(Init::DefaultAvatar),
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

impl PersonalizeJob {
    /// Frames (index, image, skeleton) of the target at `indices`.
    fn load(
        &self,
        info: &TargetInfo,
        records: &[posefile::PoseRecord],
        indices: &[usize],
    ) -> Result<Shots, JobError> {
        let frames = indices
            .iter()
            .map(|&i| {
                let path = TargetInfo::frame_path(&self.target, i);
                let image = RgbImage::open(&path).map_err(|e| JobError::Image {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                if image.width != info.size || image.height != info.size {
                    return Err(JobError::InvalidArgument(format!(
                        "{} is not {}x{}",
                        path.display(),
                        info.size,
                        info.size
                    )));
                }
                Ok((image, records[i].skeleton()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(data::shots(&frames))
    }

    pub fn run(&self) -> Result<PersonalizeSummary, JobError> {
        if self.config.shots == 0 || self.config.batch == 0 {
            return Err(JobError::InvalidArgument(
                "--shots and --batch must be at least 1".into(),
            ));
        }
        let device =
            device::select(self.device).map_err(|e| JobError::InvalidArgument(e.to_string()))?;
        let info = TargetInfo::read(&self.target)?;
        let poses_path = self.target.join("poses.jsonl");
        let records = posefile::read(&poses_path)
            .map_err(|e| JobError::InvalidArgument(format!("{}: {e}", poses_path.display())))?;
        // Only frames with the person count, for training and for testing.
        let usable: Vec<usize> = (0..records.len()).filter(|&i| records[i].found).collect();
        if usable.len() < self.config.shots + 1 {
            return Err(JobError::InvalidArgument(format!(
                "{} has {} frames with the person; at least {} are needed",
                self.target.display(),
                usable.len(),
                self.config.shots + 1
            )));
        }
        let shots: Vec<usize> = data::choose_shots(usable.len(), self.config.shots)
            .iter()
            .map(|&i| usable[i])
            .collect();
        let held = data::held_out(usable.len());
        let step = held.len().div_ceil(MAX_TEST_FRAMES).max(1);
        let tests: Vec<usize> = held.step_by(step).map(|i| usable[i]).collect();
        let train = self.load(&info, &records, &shots)?;
        let train = Shots {
            poses: train.poses.to_device(device),
            images: train.images.to_device(device),
        };
        let test = self.load(&info, &records, &tests)?;
        let test = Shots {
            poses: test.poses.to_device(device),
            images: test.images.to_device(device),
        };

        let channels = NUM_PARTS as i64;
        let (gen_vs, generator, init_name) = match &self.init {
            Init::Checkpoint(path) => {
                let (vs, model, _) = checkpoint::load(path, device)?;
                (vs, model, path.display().to_string())
            }
            Init::DefaultAvatar => {
                let name = crate::model::DEFAULT_AVATAR_NAME;
                let bytes = crate::model::DEFAULT_AVATAR;
                let (vs, model, _) = checkpoint::load_bytes(Path::new(name), bytes, device)?;
                (vs, model, name.to_string())
            }
            Init::Random(preset) => {
                let config = Pose2ImConfig::preset(preset, channels).ok_or_else(|| {
                    JobError::InvalidArgument(format!("--preset {preset}: use lite or paper"))
                })?;
                let vs = VarStore::new(device);
                let model = Pose2Im::new(&vs.root(), config);
                (vs, model, format!("random {preset}"))
            }
        };
        let disc_config = if generator.config.ngf >= 64 {
            PatchGanConfig::paper(channels + 3)
        } else {
            PatchGanConfig::lite(channels + 3)
        };
        let disc_vs = VarStore::new(device);
        let discriminator = PatchGan::new(&disc_vs.root(), disc_config);

        let score =
            |g: &Pose2Im| tch::no_grad(|| data::l1_psnr(&g.forward(&test.poses), &test.images));
        let before = score(&generator);
        let started = Instant::now();
        personalize(
            &generator,
            &gen_vs,
            &discriminator,
            &disc_vs,
            &train,
            &self.config,
        )
        .map_err(|e| JobError::InvalidArgument(format!("training failed: {e}")))?;
        let seconds = started.elapsed().as_secs_f64();
        let after = score(&generator);

        let mut meta = CheckpointMeta::new(generator.config, info.size);
        meta.normalization = Some(info.normalization);
        meta.training = json!({
            "method": "metapix personalize",
            "init": init_name,
            "target": info.source,
            "shots": shots,
            "config": self.config,
            "held_out": {"frames": tests.len(), "l1_before": before.0, "psnr_before": before.1,
                         "l1_after": after.0, "psnr_after": after.1},
        });
        checkpoint::save(&self.out, &gen_vs, &meta)?;
        Ok(PersonalizeSummary {
            shots,
            seconds,
            before,
            after,
            test_frames: tests.len(),
        })
    }
}
