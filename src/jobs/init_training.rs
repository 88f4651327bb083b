//! `metapix pretrain` and `metapix meta-train`: the two ways an initialization is learned
//! across many people. Pretraining (the paper's baseline) trains one generator and
//! discriminator jointly on every person's frames; meta-training runs Reptile over
//! personalization tasks ([`crate::train::reptile`]). Both read prepared targets and write
//! a checkpoint with the discriminator, which `metapix personalize --init` starts from.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use tch::nn::VarStore;
use tch::{Device, Tensor};

use super::dataset::PreparedTarget;
use super::personalize::{Init, Models};
use super::JobError;
use crate::base::rng::SplitMix64;
use crate::jobs::progress::Progress;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::discriminator::PatchGan;
use crate::model::Pose2Im;
use crate::train::data;
use crate::train::rates::{LayerRates, RateLearner};
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
            let chosen = data::spread(&pool, self.frames_per_identity);
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

fn save(
    path: &Path,
    p: &Pair,
    rates: &LayerRates,
    size: u32,
    training: serde_json::Value,
) -> Result<(), JobError> {
    let mut meta = CheckpointMeta::new(p.generator.config, size);
    meta.discriminator = Some(p.discriminator.config);
    meta.inner_lr = rates.clone();
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
        // Joint training steps every layer alike, whatever rates the init carries.
        let uniform = LayerRates::default();
        let log = personalize_with_progress(models, &all, &self.config, &uniform, &mut |n| {
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
        save(&self.out, &p, &uniform, size, training)?;
        Ok(l1)
    }
}

/// Where the tasks of one outer step are personalized.
enum Fast {
    OneByOne(Pair),
    Grouped(GroupedFast),
}

/// Meta-learning personalization's per-layer learning rates beside the weights
/// ([`crate::train::rates`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateLearning {
    /// Adam's step on each log-multiplier per meta-iteration.
    pub lr: f64,
    /// Other frames of each task's person its personalized weights are scored on.
    pub query_frames: usize,
}

/// `metapix meta-train`: Reptile across people.
#[derive(Debug, Clone)]
pub struct MetaTrainJob {
    pub data: TrainingData,
    pub out: PathBuf,
    pub init: Init,
    pub config: ReptileConfig,
    /// Learn the layer rates too (else the init's, uniform for most, stay as they are). A
    /// resumed run goes on from the saved rates with fresh Adam moments for them.
    pub learn_rates: Option<RateLearning>,
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
        if self.learn_rates.is_some() && c.inner.adversarial {
            return Err(JobError::InvalidArgument(
                "learning layer rates needs the L1 inner loop (leave out --gan)".into(),
            ));
        }
        let models = init.build(device)?;
        let mut rates = models.rates.clone();
        let mut meta = pair(models);
        let mut learner = self.learn_rates.map(|l| {
            let names = meta.gen_vs.variables().into_keys().collect::<Vec<_>>();
            RateLearner::new(&rates, &names, l.lr)
        });
        let query_frames = self.learn_rates.map_or(0, |l| l.query_frames);
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
                "learn_rates": self.learn_rates,
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
            let (tasks, queries): (Vec<Shots>, Vec<Shots>) = (0..c.meta_batch)
                .map(|_| {
                    let pool = &pools[rng.below(pools.len())];
                    let (k, q) = task_frames(pool.len(), c.inner.shots, query_frames, &mut rng);
                    let select =
                        |i: Vec<i64>| pool.select(&Tensor::from_slice(&i).to_device(device));
                    (select(k), select(q))
                })
                .unzip();
            let queries = if query_frames == 0 {
                &[][..]
            } else {
                &queries[..]
            };
            let eps = c.eps_at(iteration);
            let seed = iteration as u64;
            let outcome = match &mut fast {
                Fast::OneByOne(fast) => {
                    reptile_step(&mut meta, fast, &tasks, &c.inner, &rates, eps, seed)
                }
                Fast::Grouped(fast) => reptile_step_grouped(
                    &mut meta, fast, &tasks, queries, &c.inner, &rates, eps, seed,
                ),
            }
            .map_err(|e| JobError::InvalidArgument(format!("training failed: {e}")))?;
            if let (Some(learner), Some(h)) = (&mut learner, &outcome.hypergradient) {
                learner.update(h);
                rates = learner.rates();
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let mut line = json!({"iteration": iteration + 1, "eps": eps,
                                  "inner_l1": mean(&outcome.last_l1),
                                  "seconds": started.elapsed().as_secs_f64()});
            if learner.is_some() {
                let (lo, hi) = rates
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(lo, hi), (_, &m)| {
                        (lo.min(m), hi.max(m))
                    });
                line["query_l1"] = json!(mean(&outcome.query_l1));
                line["rate_range"] = json!([lo, hi]);
            }
            writeln!(log, "{line}").map_err(JobError::write(&self.log_path()))?;
            done = iteration + 1;
            progress.update(done as u64);
            if done % self.checkpoint_every.max(1) == 0 {
                save(&self.out, &meta, &rates, size, training(done))?;
            }
        }
        progress.finish(done as u64);
        save(&self.out, &meta, &rates, size, training(done))?;
        Ok(done)
    }
}

/// A task's K frames from a pool of `pool` (drawn with replacement, as the paper's tasks
/// are) and `queries` other frames of the same person to score it on (from the frames not
/// drawn, unless there are none).
fn task_frames(
    pool: usize,
    shots: usize,
    queries: usize,
    rng: &mut SplitMix64,
) -> (Vec<i64>, Vec<i64>) {
    let k: Vec<i64> = (0..shots).map(|_| rng.below(pool) as i64).collect();
    let mut others: Vec<i64> = (0..pool as i64).filter(|i| !k.contains(i)).collect();
    if others.is_empty() {
        others = k.clone();
    }
    let q = (0..queries)
        .map(|_| others[rng.below(others.len())])
        .collect();
    (k, q)
}
