//! `metapix pretrain` and `metapix meta-train`: the two ways an initialization is learned
//! across many people. Pretraining (the paper's baseline) trains one generator and
//! discriminator jointly on every person's frames; meta-training runs Reptile over
//! personalization tasks ([`crate::train::reptile`]). Both read prepared targets, stop
//! cleanly on Ctrl-C, and write a checkpoint with the discriminator as they go, which
//! `metapix personalize --init` starts from.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use tch::Device;

use super::dataset::PreparedTarget;
use super::progress::Progress;
use super::JobError;
use crate::base::rng::SplitMix64;
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::device::{self, DeviceChoice};
use crate::model::rates::LayerRates;
use crate::model::{ArchConfig, Examples};
use crate::train::personalize::LOG_EVERY;
use crate::train::rates::RateLearner;
use crate::train::reptile::{
    reptile_step, reptile_step_grouped, GroupedFast, OuterStep, ReptileConfig, StepOutcome,
};
use crate::train::{data, personalize, Init, Models, PersonalizeConfig, Task};

/// What both trainings read.
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// Prepared targets, one per person.
    pub targets: Vec<PathBuf>,
    /// Frames taken from each person's pool (the first 85%), evenly spaced.
    pub frames_per_identity: usize,
}

impl TrainingData {
    /// Every person's pool frames on `device`, as examples for `arch`.
    fn load(&self, device: Device, arch: &ArchConfig) -> Result<Vec<Examples>, JobError> {
        if self.targets.is_empty() || self.frames_per_identity == 0 {
            return Err(JobError::InvalidArgument(
                "no training data (give prepared targets and --frames-per-identity > 0)".into(),
            ));
        }
        let mut pools = Vec::with_capacity(self.targets.len());
        for dir in &self.targets {
            let target = PreparedTarget::open(dir)?;
            target.check_fits(arch)?;
            let pool = target.pool();
            if pool.is_empty() {
                return Err(JobError::InvalidArgument(format!(
                    "{} has no frames with the person",
                    dir.display()
                )));
            }
            let chosen = data::spread(&pool, self.frames_per_identity);
            pools.push(target.examples(&chosen, arch.input())?.to_device(device));
        }
        if let Some(other) = pools.iter().find(|p| p.size() != pools[0].size()) {
            return Err(JobError::InvalidArgument(format!(
                "the targets are of {} and {} px: give targets of one size",
                pools[0].size(),
                other.size()
            )));
        }
        Ok(pools)
    }
}

/// Writes the generator and discriminator of `m` with `rates` and `training` to `path`.
fn save(
    path: &Path,
    m: &Models,
    rates: &LayerRates,
    size: u32,
    training: serde_json::Value,
) -> Result<(), JobError> {
    let mut meta = CheckpointMeta::new(m.generator.arch(), size);
    meta.discriminator = Some(m.discriminator.config);
    meta.inner_lr = rates.clone();
    meta.training = training;
    checkpoint::save_with_discriminator(path, &m.gen_vs, Some(&m.disc_vs), &meta)?;
    Ok(())
}

/// `metapix pretrain`: one model trained on everyone's frames at once.
#[derive(Debug, Clone)]
pub struct PretrainJob {
    pub data: TrainingData,
    pub out: PathBuf,
    /// Random weights, or a checkpoint to train further (the equal-compute control).
    pub init: Init,
    /// Steps, batch and optimizer; `shots` is unused (every loaded frame is a shot). Its
    /// seed draws the random weights and the frame order.
    pub config: PersonalizeConfig,
    pub device: DeviceChoice,
    /// Save `out` every this many steps (and at the end, or on a stop).
    pub checkpoint_every: usize,
}

/// How a pretraining ended.
#[derive(Debug, Clone, Copy)]
pub struct PretrainSummary {
    pub steps: usize,
    /// Mean L1 of the last 100 steps.
    pub l1: f64,
}

impl PretrainJob {
    /// The loss log written beside the checkpoint as training goes: one JSON object per
    /// [`LOG_EVERY`] steps (the mean L1 of those steps, the rate at the last of them).
    pub fn log_path(&self) -> PathBuf {
        self.out.with_extension("log.jsonl")
    }

    pub fn run(
        &self,
        stop: &AtomicBool,
        progress: &mut Progress,
    ) -> Result<PretrainSummary, JobError> {
        let device = device::select(self.device)?;
        let m = self.init.build(device, self.config.seed)?;
        let all = Examples::concat(&self.data.load(device, &m.generator.arch())?)?;
        let size = all.size();
        // Joint training steps every layer alike, whatever rates the init carries.
        let uniform = LayerRates::default();
        let started = Instant::now();
        let training = |steps: usize, l1: Option<f64>| {
            json!({
                "method": "metapix pretrain",
                "init": self.init.to_string(),
                "identities": self.data.targets.len(),
                "frames": all.len(),
                "config": self.config,
                "step": steps,
                "seconds": started.elapsed().as_secs_f64(),
                "final_l1": l1,
            })
        };
        progress.set_total(Some(self.config.steps as u64));
        let every = self.checkpoint_every.max(1);
        let mut loss_log = LossLog::create(self.log_path(), &self.config)?;
        let mut saved = Ok(());
        let task = Task {
            examples: &all,
            seed: self.config.seed,
        };
        let log = personalize(
            m.trainee(),
            &[task],
            &self.config,
            &uniform,
            &mut |n, log| {
                progress.update(n as u64);
                if saved.is_ok() {
                    saved = loss_log.write(&log.l1, LOG_EVERY);
                }
                if saved.is_ok() && n % every == 0 && n < self.config.steps {
                    saved = save(&self.out, &m, &uniform, size, training(n, None));
                }
                if saved.is_err() || stop.load(Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        saved?;
        loss_log.write(&log.l1, 1)?;
        let steps = log.l1.len();
        progress.finish(steps as u64);
        let tail = &log.l1[steps.saturating_sub(100)..];
        let l1 = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        save(&self.out, &m, &uniform, size, training(steps, Some(l1)))?;
        Ok(PretrainSummary { steps, l1 })
    }
}

/// Pretraining's loss log: one line per block of steps, as the blocks' losses come back.
struct LossLog {
    path: PathBuf,
    file: std::fs::File,
    config: PersonalizeConfig,
    started: Instant,
    /// Steps already written.
    written: usize,
}

impl LossLog {
    fn create(path: PathBuf, config: &PersonalizeConfig) -> Result<Self, JobError> {
        let file = std::fs::File::create(&path).map_err(JobError::write(&path))?;
        Ok(Self {
            path,
            file,
            config: *config,
            started: Instant::now(),
            written: 0,
        })
    }

    /// Writes the steps of `l1` not yet written, in blocks of `LOG_EVERY` and a last one
    /// of at least `least` steps: the block's mean L1 and the rate of its last step.
    fn write(&mut self, l1: &[f64], least: usize) -> Result<(), JobError> {
        while l1.len() >= self.written + least.max(1) {
            let block = &l1[self.written..l1.len().min(self.written + LOG_EVERY)];
            self.written += block.len();
            let line = json!({
                "step": self.written,
                "l1": block.iter().sum::<f64>() / block.len() as f64,
                "lr": self.config.lr_at(self.written - 1),
                "seconds": self.started.elapsed().as_secs_f64(),
            });
            writeln!(self.file, "{line}").map_err(JobError::write(&self.path))?;
        }
        Ok(())
    }
}

/// Where the tasks of one outer step are personalized.
enum Fast {
    OneByOne(Models),
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

/// One meta-training under way: the meta-weights, their rates and what learns them.
struct MetaRun {
    meta: Models,
    rates: LayerRates,
    learner: Option<RateLearner>,
    fast: Fast,
    pools: Vec<Examples>,
    size: u32,
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
        if self.learn_rates.is_some() && c.inner.adversarial {
            return Err(JobError::InvalidArgument(
                "learning layer rates needs the L1 inner loop (leave out --gan)".into(),
            ));
        }
        let device = device::select(self.device)?;
        let (init, start) = self.resume_point()?;
        let mut run = self.start(&init, device)?;
        let log_path = self.log_path();
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(JobError::write(&log_path))?;
        progress.set_total(Some(c.meta_iterations as u64));
        let mut rng = SplitMix64::new(self.seed.wrapping_add(start as u64));
        let mut done = start;
        let started = Instant::now();
        for iteration in start..c.meta_iterations {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut line = self.iteration(&mut run, iteration, &mut rng)?;
            line["seconds"] = json!(started.elapsed().as_secs_f64());
            writeln!(log, "{line}").map_err(JobError::write(&log_path))?;
            done = iteration + 1;
            progress.update(done as u64);
            if done % self.checkpoint_every.max(1) == 0 {
                self.save(&run, &init, done)?;
            }
        }
        progress.finish(done as u64);
        self.save(&run, &init, done)?;
        Ok(done)
    }

    /// Where the run starts: the init and iteration 0, or with `resume` the saved run.
    fn resume_point(&self) -> Result<(Init, usize), JobError> {
        if !self.resume {
            return Ok((self.init.clone(), 0));
        }
        let meta = checkpoint::read_meta(&self.out)?;
        let done = meta.training["iteration"].as_u64().ok_or_else(|| {
            JobError::InvalidArgument(format!(
                "{} is not a meta-training checkpoint to resume",
                self.out.display()
            ))
        })?;
        Ok((Init::Checkpoint(self.out.clone()), done as usize))
    }

    /// The models, the data and where each meta-batch is personalized: L1-only tasks side
    /// by side in one grouped generator where the architecture can group, else one by one.
    fn start(&self, init: &Init, device: Device) -> Result<MetaRun, JobError> {
        let meta = init.build(device, self.seed)?;
        let arch = meta.generator.arch();
        let rates = meta.rates.clone();
        let learner = self.learn_rates.map(|l| {
            let names = meta.gen_vs.variables().into_keys().collect::<Vec<_>>();
            RateLearner::new(&rates, &names, l.lr)
        });
        let grouped = (!self.config.inner.adversarial)
            .then(|| GroupedFast::new(&arch, self.config.meta_batch, device))
            .flatten();
        let fast = match grouped {
            Some(grouped) => Fast::Grouped(grouped),
            None => Fast::OneByOne(meta.blank()),
        };
        let pools = self.data.load(device, &arch)?;
        let size = pools[0].size();
        Ok(MetaRun {
            meta,
            rates,
            learner,
            fast,
            pools,
            size,
        })
    }

    /// One outer update; returns its line of the loss log.
    fn iteration(
        &self,
        run: &mut MetaRun,
        iteration: usize,
        rng: &mut SplitMix64,
    ) -> Result<serde_json::Value, JobError> {
        let c = &self.config;
        let query_frames = self.learn_rates.map_or(0, |l| l.query_frames);
        let (tasks, queries) = sample_tasks(&run.pools, c, query_frames, rng);
        let queries = if query_frames == 0 {
            &[][..]
        } else {
            &queries[..]
        };
        let eps = c.eps_at(iteration);
        let step = OuterStep {
            tasks: &tasks,
            queries,
            inner: &c.inner,
            rates: &run.rates,
            eps,
            seed: iteration as u64,
        };
        let outcome: StepOutcome = match &mut run.fast {
            Fast::OneByOne(fast) => reptile_step(&mut run.meta, fast, &step),
            Fast::Grouped(fast) => reptile_step_grouped(&mut run.meta, fast, &step),
        }?;
        if let (Some(learner), Some(h)) = (&mut run.learner, &outcome.hypergradient) {
            learner.update(h);
            run.rates = learner.rates();
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let mut line = json!({"iteration": iteration + 1, "eps": eps,
                              "inner_l1": mean(&outcome.last_l1)});
        if run.learner.is_some() {
            let (lo, hi) = run
                .rates
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), (_, &m)| {
                    (lo.min(m), hi.max(m))
                });
            line["query_l1"] = json!(mean(&outcome.query_l1));
            line["rate_range"] = json!([lo, hi]);
        }
        Ok(line)
    }

    /// Saves the meta-weights and rates after `iteration` iterations.
    fn save(&self, run: &MetaRun, init: &Init, iteration: usize) -> Result<(), JobError> {
        let training = json!({
            "method": "metapix meta-train (Reptile)",
            "init": init.to_string(),
            "identities": self.data.targets.len(),
            "frames_per_identity": self.data.frames_per_identity,
            "config": self.config,
            "learn_rates": self.learn_rates,
            "iteration": iteration,
        });
        save(&self.out, &run.meta, &run.rates, run.size, training)
    }
}

/// A meta-batch: for each task a random person's K frames, and (with `query_frames`) other
/// frames of the same person to score the task on.
fn sample_tasks(
    pools: &[Examples],
    c: &ReptileConfig,
    query_frames: usize,
    rng: &mut SplitMix64,
) -> (Vec<Examples>, Vec<Examples>) {
    (0..c.meta_batch)
        .map(|_| {
            let pool = &pools[rng.below(pools.len())];
            let (k, q) = task_frames(pool.len(), c.inner.shots, query_frames, rng);
            (pool.select(&k), pool.select(&q))
        })
        .unzip()
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
