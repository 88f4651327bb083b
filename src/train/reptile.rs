//! Reptile (Nichol, Achiam and Schulman, 2018) over personalization tasks, as MetaPix
//! meta-trains: a task is one person and K of their frames; the inner loop is the
//! personalization users run ([`personalize`], fresh Adam optimizers), called as it is; the
//! outer update moves the meta-weights of the generator and the discriminator towards the
//! average of the personalized ones, by a step size annealed linearly to 0.
//!
//! Two ways to run a meta-batch, with the same result up to float rounding: one task after
//! another in a scratch copy ([`reptile_step`]), or, for L1-only inner loops of an
//! architecture that can group, all tasks at once in one grouped generator
//! ([`reptile_step_grouped`]), where [`personalize`] trains G people side by side.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::{Device, Kind, Reduction, Tensor};

use super::personalize::{per_group_l1, personalize, Task, TrainLog, Trainee};
use super::{Models, PersonalizeConfig, TrainError};
use crate::model::rates::LayerRates;
use crate::model::{guard, split_groups, ArchConfig, Batch, Examples, Generator};

/// The outer loop's settings; `inner` is the personalization each task runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReptileConfig {
    pub meta_iterations: usize,
    /// Tasks averaged in each outer update.
    pub meta_batch: usize,
    /// Outer step size at the first iteration; it falls linearly to 0 at the last.
    pub eps: f64,
    pub inner: PersonalizeConfig,
}

impl ReptileConfig {
    /// Outer step size at `iteration` (0-based).
    pub fn eps_at(&self, iteration: usize) -> f64 {
        let n = self.meta_iterations.max(1) as f64;
        self.eps * (1.0 - iteration as f64 / n).max(0.0)
    }
}

/// One outer update's work: the meta-batch's tasks (and, to learn layer rates, other frames
/// of each task's person to score it on), how each is personalized, and the outer step.
#[derive(Clone, Copy)]
pub struct OuterStep<'a> {
    pub tasks: &'a [Examples],
    /// One set per task, or none.
    pub queries: &'a [Examples],
    pub inner: &'a PersonalizeConfig,
    pub rates: &'a LayerRates,
    /// How far the meta-weights move towards the personalized ones' mean.
    pub eps: f64,
    /// Makes each task's frame order differ.
    pub seed: u64,
}

impl OuterStep<'_> {
    /// Refuses query sets that do not pair with the tasks.
    fn check_queries(&self) -> Result<(), TrainError> {
        if self.queries.is_empty() || self.queries.len() == self.tasks.len() {
            return Ok(());
        }
        Err(TrainError::Setup(format!(
            "{} tasks and {} query sets: give one per task or none",
            self.tasks.len(),
            self.queries.len()
        )))
    }
}

/// What one outer update saw.
#[derive(Debug, Clone, Default)]
pub struct StepOutcome {
    /// Each task's L1 at its last inner step.
    pub last_l1: Vec<f64>,
    /// Each task's L1 on its query frames after personalization (when it had queries).
    pub query_l1: Vec<f64>,
    /// `d L_query / d log m` of each generator tensor's rate multiplier, summed over the
    /// tasks, to first order (when they had queries; see [`super::rates`]).
    pub hypergradient: Option<BTreeMap<String, f64>>,
}

/// The inner loops' seed for task `i` of the outer step seeded `seed`.
fn task_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_mul(7919).wrapping_add(i as u64)
}

fn no_stop(_: usize, _: &TrainLog) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// One outer update: personalizes a copy of `meta` (in `fast`) on each of the step's tasks
/// in turn at its layer rates, then moves `meta` by its `eps` towards their mean. With
/// queries, each personalized copy is also scored on its task's, giving the hypergradient of
/// the layer rates for architectures that cannot group (Posewarp).
pub fn reptile_step(
    meta: &mut Models,
    fast: &mut Models,
    step: &OuterStep<'_>,
) -> Result<StepOutcome, TrainError> {
    step.check_queries()?;
    let tasks = step.tasks;
    let meta_vars = meta.gen_vs.variables();
    let mut sum_g = zeros_like(&meta.gen_vs);
    let mut sum_d = zeros_like(&meta.disc_vs);
    let mut last_l1 = Vec::with_capacity(tasks.len());
    let mut query_l1 = Vec::new();
    let mut hypergradient: Option<BTreeMap<String, f64>> = None;
    for (i, examples) in tasks.iter().enumerate() {
        fast.gen_vs.copy(&meta.gen_vs)?;
        fast.disc_vs.copy(&meta.disc_vs)?;
        let task = Task {
            examples,
            seed: task_seed(step.seed, i),
        };
        let log = personalize(
            fast.trainee(),
            &[task],
            step.inner,
            step.rates,
            &mut no_stop,
        )?;
        last_l1.extend(log.last_l1);
        if let Some(query) = step.queries.get(i) {
            let scored = (&fast.generator, &fast.gen_vs);
            let shots = std::slice::from_ref(examples);
            let (l1, h) =
                query_hypergradient(scored, &meta_vars, shots, std::slice::from_ref(query))?;
            query_l1.extend(l1);
            let sum = hypergradient.get_or_insert_with(BTreeMap::new);
            for (name, value) in h {
                *sum.entry(name).or_insert(0.0) += value;
            }
        }
        accumulate(&mut sum_g, &fast.gen_vs);
        accumulate(&mut sum_d, &fast.disc_vs);
    }
    let scale = step.eps / tasks.len().max(1) as f64;
    move_towards(&meta.gen_vs, &sum_g, tasks.len(), scale)?;
    move_towards(&meta.disc_vs, &sum_d, tasks.len(), scale)?;
    Ok(StepOutcome {
        last_l1,
        query_l1,
        hypergradient,
    })
}

/// A meta-batch's worth of scratch generators as one grouped model
/// ([`Generator::grouped`]): G people personalize in one forward and backward pass per
/// step instead of G passes one after another.
pub struct GroupedFast {
    pub vs: VarStore,
    pub generator: Generator,
}

impl GroupedFast {
    /// None for an architecture that cannot group ([`ArchConfig::groups_side_by_side`]).
    pub fn new(arch: &ArchConfig, groups: usize, device: Device) -> Option<Self> {
        let vs = VarStore::new(device);
        let generator = Generator::grouped(&vs.root(), arch, groups)?;
        Some(Self { vs, generator })
    }
}

/// [`reptile_step`] for L1-only inner loops (`inner.adversarial` off), with the tasks'
/// personalizations run side by side in `fast` (one group per task) by the same
/// [`personalize`]. Each group sees the frames, learning rates and Adam updates its task
/// would see alone. The discriminator is untouched, as L1-only personalization leaves it.
pub fn reptile_step_grouped(
    meta: &mut Models,
    fast: &GroupedFast,
    step: &OuterStep<'_>,
) -> Result<StepOutcome, TrainError> {
    step.check_queries()?;
    let groups = fast.generator.groups();
    if step.inner.adversarial {
        return Err(TrainError::Setup(
            "a grouped Reptile step takes L1-only tasks (the GAN terms need one generator)".into(),
        ));
    }
    let meta_vars = meta.gen_vs.variables();
    guard::torch(|| {
        tch::no_grad(|| {
            for (name, t) in fast.vs.variables() {
                let mut each = split_groups(&t, groups);
                each.copy_(&meta_vars[&name].unsqueeze(0).expand_as(&each));
            }
        })
    })?;
    let tasks: Vec<Task<'_>> = step
        .tasks
        .iter()
        .enumerate()
        .map(|(i, examples)| Task {
            examples,
            seed: task_seed(step.seed, i),
        })
        .collect();
    let trainee = Trainee {
        generator: &fast.generator,
        gen_vs: &fast.vs,
        discriminator: None,
    };
    let log = personalize(trainee, &tasks, step.inner, step.rates, &mut no_stop)?;
    let (query_l1, hypergradient) = if step.queries.is_empty() {
        (Vec::new(), None)
    } else {
        let scored = (&fast.generator, &fast.vs);
        let (l1, h) = query_hypergradient(scored, &meta_vars, step.tasks, step.queries)?;
        (l1, Some(h))
    };
    guard::torch(|| {
        tch::no_grad(|| {
            for (name, t) in fast.vs.variables() {
                let mut m = meta_vars[&name].shallow_clone();
                let mean = split_groups(&t, groups).mean_dim(0, false, Kind::Float);
                m += (mean - &m) * step.eps;
            }
        })
    })?;
    Ok(StepOutcome {
        last_l1: log.last_l1,
        query_l1,
        hypergradient,
    })
}

/// Scores each group of the personalized generator `fast` (and its variables) on its
/// task's `queries`, rendered from its `shots` as personalization's users get them, and
/// returns each task's query L1 and the rate hypergradient: per
/// tensor, the query loss's gradient dotted with the move from the meta-weights, summed
/// over groups.
fn query_hypergradient(
    (generator, vs): (&Generator, &VarStore),
    meta_vars: &HashMap<String, Tensor>,
    shots: &[Examples],
    queries: &[Examples],
) -> Result<(Vec<f64>, BTreeMap<String, f64>), TrainError> {
    let groups = generator.groups();
    let batches = shots
        .iter()
        .zip(queries)
        .map(|(shots, q)| generator.scoring_batch(shots, q))
        .collect();
    let batch = Batch::side_by_side(batches);
    let fake = guard::torch(|| {
        zero_grads(vs);
        let fake = generator.forward(&batch.condition);
        // Summed over groups, each group's gradient is that of its own mean L1.
        (fake.l1_loss(&batch.real, Reduction::Mean) * groups as f64).backward();
        fake
    })?;
    let per_task = per_group_l1(&fake, &batch.real, groups)?;
    let hypergradient = guard::torch(|| {
        tch::no_grad(|| {
            vs.variables()
                .into_iter()
                .map(|(name, t)| {
                    let grad = t.grad();
                    if !grad.defined() {
                        return (name, 0.0);
                    }
                    let moved = split_groups(&t, groups) - meta_vars[&name].unsqueeze(0);
                    let h = (split_groups(&grad, groups) * moved)
                        .sum(Kind::Double)
                        .double_value(&[]);
                    (name, h)
                })
                .collect()
        })
    })?;
    zero_grads(vs);
    Ok((per_task, hypergradient))
}

fn zero_grads(vs: &VarStore) {
    for mut t in vs.trainable_variables() {
        t.zero_grad();
    }
}

fn zeros_like(vs: &VarStore) -> HashMap<String, Tensor> {
    tch::no_grad(|| {
        vs.variables()
            .into_iter()
            .map(|(name, t)| (name, t.zeros_like()))
            .collect()
    })
}

fn accumulate(sum: &mut HashMap<String, Tensor>, vs: &VarStore) {
    tch::no_grad(|| {
        for (name, t) in vs.variables() {
            if let Some(s) = sum.get_mut(&name) {
                *s += &t;
            }
        }
    });
}

/// theta <- theta + scale * sum_i (theta_i - theta) = theta + scale * (sum - n theta).
fn move_towards(
    vs: &VarStore,
    sum: &HashMap<String, Tensor>,
    n: usize,
    scale: f64,
) -> Result<(), TrainError> {
    guard::torch(|| {
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                let delta = (&sum[&name] - &t * n as f64) * scale;
                t += delta;
            }
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests;
