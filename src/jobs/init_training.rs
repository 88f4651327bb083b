//! `metapix pretrain` and `metapix meta-train`: the two ways an initialization is learned
//! across many people. Pretraining (the paper's baseline) trains one generator and
//! discriminator jointly on every person's frames; meta-training runs Reptile over
//! personalization tasks ([`crate::train::reptile`]). Both read prepared targets and write
//! a checkpoint with the discriminator, which `metapix personalize --init` starts from.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::dataset::PreparedTarget;
use super::personalize::{Init, Models};
use super::JobError;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::discriminator::PatchGan;
use crate::model::Pose2Im;
use crate::progress::Progress;
use crate::rng::SplitMix64;
use crate::train::reptile::{reptile_step, reptile_step_grouped, GroupedFast, Pair, ReptileConfig};
use crate::train::{personalize_with_progress, PersonalizeConfig, Shots};

/// What both trainings read.
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// Prepared targets, one per person.
    pub targets: Vec<PathBuf>,
    /// Frames taken from each person's pool (the first 85%), evenly spaced.
    pub frames_per_identity: usize,
}

impl TrainingData {
    /// Every person's pool frames on `device`, and the frame side.
    fn load(&self, device: Device) -> Result<(Vec<Shots>, u32), JobError> {
        if self.targets.is_empty() || self.frames_per_identity == 0 {
            return Err(JobError::InvalidArgument(
                "no training data (give prepared targets and --frames-per-identity > 0)".into(),
            ));
        }
        let mut size = None;
        let mut pools = Vec::with_capacity(self.targets.len());
        for dir in &self.targets {
            let target = PreparedTarget::open(dir)?;
            if *size.get_or_insert(target.info.size) != target.info.size {
                return Err(JobError::InvalidArgument(format!(
                    "{} is {} px; the others are {} px",
                    dir.display(),
                    target.info.size,
                    size.unwrap_or_default()
                )));
            }
            let pool = target.pool();
            if pool.is_empty() {
                return Err(JobError::InvalidArgument(format!(
                    "{} has no frames with the person",
                    dir.display()
                )));
            }
            let step = pool.len().div_ceil(self.frames_per_identity).max(1);
            let chosen: Vec<usize> = pool.iter().step_by(step).copied().collect();
            pools.push(target.load(&chosen)?.to_device(device));
        }
        Ok((pools, size.unwrap_or_default()))
    }
}

fn pair(m: Models) -> Pair {
    Pair {
        gen_vs: m.gen_vs,
        generator: m.generator,
        disc_vs: m.disc_vs,
        discriminator: m.discriminator,
    }
}

fn save(path: &Path, p: &Pair, size: u32, training: serde_json::Value) -> Result<(), JobError> {
    let mut meta = CheckpointMeta::new(p.generator.config, size);
    meta.discriminator = Some(p.discriminator.config);
    meta.training = training;
    checkpoint::save_with_discriminator(path, &p.gen_vs, Some(&p.disc_vs), &meta)?;
    Ok(())
}

fn select_device(choice: DeviceChoice) -> Result<Device, JobError> {
    device::select(choice).map_err(|e| JobError::InvalidArgument(e.to_string()))
}

/// `metapix pretrain`: one model trained on everyone's frames at once.
#[derive(Debug, Clone)]
pub struct PretrainJob {
    pub data: TrainingData,
    pub out: PathBuf,
    /// Random weights, or a checkpoint to train further (the equal-compute control).
    pub init: Init,
    /// Steps, batch and optimizer; `shots` is unused (every loaded frame is a shot).
    pub config: PersonalizeConfig,
    pub device: DeviceChoice,
}

impl PretrainJob {
    /// Returns the mean L1 of the last 100 steps.
    pub fn run(&self, progress: &mut Progress) -> Result<f64, JobError> {
        let device = select_device(self.device)?;
        let (pools, size) = self.data.load(device)?;
        let all = Shots {
            poses: Tensor::cat(&pools.iter().map(|p| &p.poses).collect::<Vec<_>>(), 0),
            images: Tensor::cat(&pools.iter().map(|p| &p.images).collect::<Vec<_>>(), 0),
        };
        drop(pools);
        let p = pair(self.init.build(device)?);
        let models = (&p.generator, &p.gen_vs, &p.discriminator, &p.disc_vs);
        progress.set_total(Some(self.config.steps as u64));
        let started = Instant::now();
        let log = personalize_with_progress(models, &all, &self.config, &mut |n| {
            progress.update(n as u64)
        })
        .map_err(|e| JobError::InvalidArgument(format!("training failed: {e}")))?;
        progress.finish(self.config.steps as u64);
        let tail = &log.l1[log.l1.len().saturating_sub(100)..];
        let l1 = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        let training = json!({
            "method": "metapix pretrain",
            "init": format!("{:?}", self.init),
            "identities": self.data.targets.len(),
            "frames": all.len(),
            "config": self.config,
            "seconds": started.elapsed().as_secs_f64(),
            "final_l1": l1,
        });
        save(&self.out, &p, size, training)?;
        Ok(l1)
    }
}

/// Where the tasks of one outer step are personalized.
enum Fast {
    OneByOne(Pair),
    Grouped(GroupedFast),
}

/// `metapix meta-train`: Reptile across people.
#[derive(Debug, Clone)]
pub struct MetaTrainJob {
    pub data: TrainingData,
    pub out: PathBuf,
    pub init: Init,
    pub config: ReptileConfig,
    pub device: DeviceChoice,
    /// Continue the run saved in `out` from the iteration it reached.
    pub resume: bool,
    /// Save `out` every this many meta-iterations (and at the end, or on a stop).
    pub checkpoint_every: usize,
    pub seed: u64,
}

impl MetaTrainJob {
    /// The loss log written beside the checkpoint: one JSON object per meta-iteration.
    pub fn log_path(&self) -> PathBuf {
        self.out.with_extension("log.jsonl")
    }

    /// Returns the meta-iterations done in all (with a resumed run's).
    pub fn run(&self, stop: &AtomicBool, progress: &mut Progress) -> Result<usize, JobError> {
        let c = &self.config;
        if c.meta_batch == 0 || c.inner.shots == 0 || c.inner.batch == 0 {
            return Err(JobError::InvalidArgument(
                "--meta-batch, --shots and --batch must be at least 1".into(),
            ));
        }
        let device = select_device(self.device)?;
        let (init, start) = if self.resume {
            let meta = checkpoint::read_meta(&self.out)?;
            let done = meta.training["iteration"].as_u64().ok_or_else(|| {
                JobError::InvalidArgument(format!(
                    "{} is not a meta-training checkpoint to resume",
                    self.out.display()
                ))
            })?;
            (Init::Checkpoint(self.out.clone()), done as usize)
        } else {
            (self.init.clone(), 0)
        };
        let mut meta = pair(init.build(device)?);
        // L1-only tasks run side by side in one grouped generator; GAN tasks one by one.
        let mut fast = if c.inner.adversarial {
            let fast_gen_vs = VarStore::new(device);
            let fast_disc_vs = VarStore::new(device);
            Fast::OneByOne(Pair {
                generator: Pose2Im::new(&fast_gen_vs.root(), meta.generator.config),
                discriminator: PatchGan::new(&fast_disc_vs.root(), meta.discriminator.config),
                gen_vs: fast_gen_vs,
                disc_vs: fast_disc_vs,
            })
        } else {
            Fast::Grouped(GroupedFast::new(
                meta.generator.config,
                c.meta_batch,
                device,
            ))
        };
        let (pools, size) = self.data.load(device)?;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(JobError::write(&self.log_path()))?;
        let training = |iteration: usize| {
            json!({
                "method": "metapix meta-train (Reptile)",
                "init": format!("{init:?}"),
                "identities": self.data.targets.len(),
                "frames_per_identity": self.data.frames_per_identity,
                "config": self.config,
                "iteration": iteration,
            })
        };
        progress.set_total(Some(c.meta_iterations as u64));
        let mut rng = SplitMix64::new(self.seed.wrapping_add(start as u64));
        let mut done = start;
        let started = Instant::now();
        for iteration in start..c.meta_iterations {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let tasks: Vec<Shots> = (0..c.meta_batch)
                .map(|_| {
                    let pool = &pools[rng.below(pools.len())];
                    let k: Vec<i64> = (0..c.inner.shots)
                        .map(|_| rng.below(pool.len()) as i64)
                        .collect();
                    pool.select(&Tensor::from_slice(&k).to_device(device))
                })
                .collect();
            let eps = c.eps_at(iteration);
            let seed = iteration as u64;
            let l1 = match &mut fast {
                Fast::OneByOne(fast) => reptile_step(&mut meta, fast, &tasks, &c.inner, eps, seed),
                Fast::Grouped(fast) => {
                    reptile_step_grouped(&mut meta, fast, &tasks, &c.inner, eps, seed)
                }
            }
            .map_err(|e| JobError::InvalidArgument(format!("training failed: {e}")))?;
            let mean = l1.iter().sum::<f64>() / l1.len() as f64;
            let line = json!({"iteration": iteration + 1, "eps": eps, "inner_l1": mean,
                              "seconds": started.elapsed().as_secs_f64()});
            writeln!(log, "{line}").map_err(JobError::write(&self.log_path()))?;
            done = iteration + 1;
            progress.update(done as u64);
            if done % self.checkpoint_every.max(1) == 0 {
                save(&self.out, &meta, size, training(done))?;
            }
        }
        progress.finish(done as u64);
        save(&self.out, &meta, size, training(done))?;
        Ok(done)
    }
}
