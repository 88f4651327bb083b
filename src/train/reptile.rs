//! Reptile (Nichol, Achiam and Schulman, 2018) over personalization tasks, as MetaPix
//! meta-trains: a task is one person and K of their frames; the inner loop is exactly the
//! personalization users run ([`super::personalize`], fresh Adam optimizers); the outer
//! update moves the meta-weights of the generator and the discriminator towards the
//! average of the personalized ones, by a step size annealed linearly to 0.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, OptimizerConfig, VarStore};
use tch::{Device, Kind, Reduction, Tensor};

use super::rates::{scaled_step, LayerRates};
use super::{personalize, PersonalizeConfig, Shots};
use crate::base::rng::SplitMix64;
use crate::model::discriminator::PatchGan;
use crate::model::{split_groups, Pose2Im, Pose2ImConfig};

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

/// A generator and its discriminator with their variables: the meta-weights, or the
/// scratch copy each task personalizes.
pub struct Pair {
    pub gen_vs: VarStore,
    pub generator: Pose2Im,
    pub disc_vs: VarStore,
    pub discriminator: PatchGan,
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

/// One outer update: personalizes a copy of `meta` on each of `tasks` (`seed` makes each
/// task's frame order differ) at the layer `rates`, then moves `meta` by `eps` towards
/// their mean.
pub fn reptile_step(
    meta: &mut Pair,
    fast: &mut Pair,
    tasks: &[Shots],
    inner: &PersonalizeConfig,
    rates: &LayerRates,
    eps: f64,
    seed: u64,
) -> Result<StepOutcome, tch::TchError> {
    let mut sum_g = zeros_like(&meta.gen_vs);
    let mut sum_d = zeros_like(&meta.disc_vs);
    let mut last_l1 = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        fast.gen_vs.copy(&meta.gen_vs)?;
        fast.disc_vs.copy(&meta.disc_vs)?;
        let config = PersonalizeConfig {
            seed: task_seed(seed, i),
            ..*inner
        };
        let log = personalize(
            &fast.generator,
            &fast.gen_vs,
            &fast.discriminator,
            &fast.disc_vs,
            task,
            &config,
            rates,
        )?;
        last_l1.push(log.l1.last().copied().unwrap_or(f64::NAN));
        accumulate(&mut sum_g, &fast.gen_vs);
        accumulate(&mut sum_d, &fast.disc_vs);
    }
    let scale = eps / tasks.len().max(1) as f64;
    move_towards(&meta.gen_vs, &sum_g, tasks.len(), scale);
    move_towards(&meta.disc_vs, &sum_d, tasks.len(), scale);
    Ok(StepOutcome {
        last_l1,
        ..StepOutcome::default()
    })
}

/// The inner loops' seed for task `i` of the outer step seeded `seed`.
fn task_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_mul(7919).wrapping_add(i as u64)
}

/// A meta-batch's worth of scratch generators as one grouped model
/// ([`Pose2Im::grouped`]): G people personalize in one forward and backward pass per step
/// instead of G passes one after another.
pub struct GroupedFast {
    pub vs: VarStore,
    pub generator: Pose2Im,
}

impl GroupedFast {
    pub fn new(config: Pose2ImConfig, groups: usize, device: Device) -> Self {
        let vs = VarStore::new(device);
        let generator = Pose2Im::grouped(&vs.root(), config, groups as i64);
        Self { vs, generator }
    }
}

/// [`reptile_step`] for L1-only inner loops (`inner.adversarial` off), with the tasks'
/// personalizations run side by side in `fast` (one group per task). Each group sees the
/// frames, learning rates and Adam updates its task would see alone, so the result is
/// [`reptile_step`]'s up to float rounding. The discriminator is untouched, as L1-only
/// personalization leaves it.
///
/// With `queries` (other frames of each task's person, one set per task), the personalized
/// weights are also scored on them, giving the hypergradient of the layer rates.
#[allow(clippy::too_many_arguments)]
pub fn reptile_step_grouped(
    meta: &mut Pair,
    fast: &GroupedFast,
    tasks: &[Shots],
    queries: &[Shots],
    inner: &PersonalizeConfig,
    rates: &LayerRates,
    eps: f64,
    seed: u64,
) -> Result<StepOutcome, tch::TchError> {
    let groups = fast.generator.groups;
    if inner.adversarial
        || tasks.len() as i64 != groups
        || !(queries.is_empty() || queries.len() == tasks.len())
    {
        return Err(tch::TchError::Shape(format!(
            "a grouped Reptile step takes {groups} L1-only tasks and as many query sets or \
             none, got {} and {} (adversarial: {})",
            tasks.len(),
            queries.len(),
            inner.adversarial
        )));
    }
    let meta_vars = meta.gen_vs.variables();
    tch::no_grad(|| {
        for (name, t) in fast.vs.variables() {
            let m = &meta_vars[&name];
            split_groups(&t, groups).copy_(&m.unsqueeze(0).expand_as(&split_groups(&t, groups)));
        }
    });
    let adam = nn::Adam::default().beta1(inner.beta1);
    let mut opt = adam.build(&fast.vs, inner.lr)?;
    let scaled = rates.scaled_tensors(&fast.vs);
    let mut rngs: Vec<SplitMix64> = (0..tasks.len())
        .map(|i| SplitMix64::new(task_seed(seed, i)))
        .collect();
    let device = fast.vs.device();
    let mut last_l1 = vec![f64::NAN; tasks.len()];
    for step in 0..inner.steps {
        opt.set_lr(inner.lr_at(step));
        let (poses, reals): (Vec<Tensor>, Vec<Tensor>) = tasks
            .iter()
            .zip(&mut rngs)
            .map(|(task, rng)| {
                let idx: Vec<i64> = (0..inner.batch)
                    .map(|_| rng.below(task.len()) as i64)
                    .collect();
                let idx = Tensor::from_slice(&idx).to_device(device);
                (
                    task.poses.index_select(0, &idx),
                    task.images.index_select(0, &idx),
                )
            })
            .unzip();
        let real = Tensor::cat(&reals, 1);
        let fake = fast.generator.forward(&Tensor::cat(&poses, 1));
        // The mean over all groups times G is the sum of each group's own mean L1, so
        // each group's gradient is its task's alone.
        let l1 = fake.l1_loss(&real, Reduction::Mean);
        if step + 1 == inner.steps {
            last_l1 = per_group_l1(&fake, &real, groups)?;
        }
        scaled_step(&scaled, || {
            opt.backward_step(&(l1 * (inner.l1_weight * groups as f64)))
        });
    }
    let (query_l1, hypergradient) = if queries.is_empty() {
        (Vec::new(), None)
    } else {
        let (l1, h) = query_hypergradient(fast, &meta_vars, queries, &mut opt)?;
        (l1, Some(h))
    };
    tch::no_grad(|| {
        for (name, t) in fast.vs.variables() {
            let mut m = meta_vars[&name].shallow_clone();
            let mean = split_groups(&t, groups).mean_dim(0, false, Kind::Float);
            let _ = m.f_add_(&((mean - &m) * eps));
        }
    });
    Ok(StepOutcome {
        last_l1,
        query_l1,
        hypergradient,
    })
}

/// Scores each group's personalized weights on its task's `queries` and returns each
/// task's query L1 and the rate hypergradient: per tensor, the query loss's gradient dotted
/// with the move from the meta-weights, summed over groups.
fn query_hypergradient(
    fast: &GroupedFast,
    meta_vars: &HashMap<String, Tensor>,
    queries: &[Shots],
    opt: &mut nn::Optimizer,
) -> Result<(Vec<f64>, BTreeMap<String, f64>), tch::TchError> {
    let groups = fast.generator.groups;
    let poses: Vec<&Tensor> = queries.iter().map(|q| &q.poses).collect();
    let reals: Vec<&Tensor> = queries.iter().map(|q| &q.images).collect();
    let real = Tensor::cat(&reals, 1);
    let fake = fast.generator.forward(&Tensor::cat(&poses, 1));
    opt.zero_grad();
    // Summed over groups, each group's gradient is that of its own mean L1.
    (fake.l1_loss(&real, Reduction::Mean) * groups as f64).backward();
    let per_task = per_group_l1(&fake, &real, groups)?;
    let hypergradient = tch::no_grad(|| {
        fast.vs
            .variables()
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
    });
    opt.zero_grad();
    Ok((per_task, hypergradient))
}

/// Each group's mean L1 between grouped outputs `fake` and `real` (N, G*C, H, W).
fn per_group_l1(fake: &Tensor, real: &Tensor, groups: i64) -> Result<Vec<f64>, tch::TchError> {
    let frames = fake.size()[0];
    let per_group = tch::no_grad(|| {
        (fake - real).abs().view([frames, groups, -1]).mean_dim(
            [0, 2].as_slice(),
            false,
            Kind::Double,
        )
    });
    Vec::<f64>::try_from(per_group)
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
fn move_towards(vs: &VarStore, sum: &HashMap<String, Tensor>, n: usize, scale: f64) {
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            let delta = (&sum[&name] - &t * n as f64) * scale;
            let _ = t.f_add_(&delta);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::discriminator::PatchGanConfig;
    use crate::model::Pose2ImConfig;
    use tch::{Device, Kind};

    fn pair(seed: i64) -> Pair {
        tch::manual_seed(seed);
        let gen_vs = VarStore::new(Device::Cpu);
        let generator = Pose2Im::new(&gen_vs.root(), Pose2ImConfig::lite(4));
        let disc_vs = VarStore::new(Device::Cpu);
        let discriminator = PatchGan::new(&disc_vs.root(), PatchGanConfig::lite(7));
        Pair {
            gen_vs,
            generator,
            disc_vs,
            discriminator,
        }
    }

    fn flat(vs: &VarStore) -> Tensor {
        let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Tensor::cat(
            &v.iter().map(|(_, t)| t.flatten(0, -1)).collect::<Vec<_>>(),
            0,
        )
    }

    #[test]
    fn a_grouped_step_matches_tasks_run_one_after_another() {
        let tasks: Vec<Shots> = (0..3).map(|_| random_shots(4)).collect();
        let inner = PersonalizeConfig {
            steps: 4,
            batch: 2,
            constant_steps: 2,
            adversarial: false,
            ..PersonalizeConfig::default()
        };
        let (mut one_by_one, mut fast) = (pair(1), pair(2));
        // Copies, not a second pair(1): tests on other threads reseed the global generator.
        let mut together = pair(3);
        together.gen_vs.copy(&one_by_one.gen_vs).unwrap();
        together.disc_vs.copy(&one_by_one.disc_vs).unwrap();
        let disc_before = flat(&together.disc_vs);
        let grouped = GroupedFast::new(together.generator.config, 3, Device::Cpu);
        // The meta-weights before the step, to measure how far it moved them.
        let mut before_vs = VarStore::new(Device::Cpu);
        let _shape = Pose2Im::new(&before_vs.root(), together.generator.config);
        before_vs.copy(&one_by_one.gen_vs).unwrap();
        let uniform = LayerRates::default();
        let l1_seq = reptile_step(&mut one_by_one, &mut fast, &tasks, &inner, &uniform, 0.7, 5)
            .unwrap()
            .last_l1;
        let l1_grp = reptile_step_grouped(
            &mut together,
            &grouped,
            &tasks,
            &[],
            &inner,
            &uniform,
            0.7,
            5,
        )
        .unwrap()
        .last_l1;
        // Grouped and plain convolutions round differently, and Adam's normalization turns
        // that noise on near-zero gradients into steps of up to its learning rate, of either
        // sign (biases that instance norm cancels get nothing else). So single weights may
        // disagree by much of the step; on average the two runs agree to a few percent of
        // how far the step moved the weights, while tasks mixed up between groups would
        // put them as far apart as the move itself.
        let grouped_vars = together.gen_vs.variables();
        let before_vars = before_vs.variables();
        let (mut gap, mut moved) = (0.0, 0.0);
        for (name, t) in one_by_one.gen_vs.variables() {
            if name.ends_with(".bias") && name != "head.bias" {
                continue;
            }
            gap += (&t - &grouped_vars[&name])
                .abs()
                .sum(Kind::Double)
                .double_value(&[]);
            moved += (&t - &before_vars[&name])
                .abs()
                .sum(Kind::Double)
                .double_value(&[]);
        }
        assert!(moved > 0.0, "the step did not move the meta-weights");
        assert!(
            gap < 0.2 * moved,
            "grouped and sequential differ by {:.1}% of the move",
            100.0 * gap / moved
        );
        for (s, g) in l1_seq.iter().zip(&l1_grp) {
            assert!(
                (s - g).abs() < 1e-3 * s.abs().max(1.0),
                "last L1 {s} vs {g}"
            );
        }
        // The discriminator is left as it was, as L1-only personalization leaves it.
        assert!(flat(&together.disc_vs).allclose(&disc_before, 0.0, 0.0, false));
        // The GAN inner loop needs a grouped discriminator: refused, not silently changed.
        let gan = PersonalizeConfig {
            adversarial: true,
            ..inner
        };
        assert!(
            reptile_step_grouped(&mut together, &grouped, &tasks, &[], &gan, &uniform, 0.7, 5)
                .is_err()
        );
    }

    fn random_shots(n: i64) -> Shots {
        Shots {
            poses: Tensor::rand([n, 4, 32, 32], (Kind::Float, Device::Cpu)),
            images: Tensor::rand([n, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0,
        }
    }

    #[test]
    fn the_rate_hypergradient_is_how_the_query_loss_moves_with_a_rate() {
        let tasks = [random_shots(3), random_shots(3)];
        let queries = [random_shots(2), random_shots(2)];
        // One inner step: Adam's first step does not depend on the rates, so the
        // first-order hypergradient is the exact derivative in log m.
        let inner = PersonalizeConfig {
            steps: 1,
            batch: 2,
            constant_steps: 1,
            adversarial: false,
            ..PersonalizeConfig::default()
        };
        let mut meta = pair(1);
        let grouped = GroupedFast::new(meta.generator.config, 2, Device::Cpu);
        // eps 0 leaves the meta-weights where they are, so every call starts alike.
        let mut step = |rates: &LayerRates| {
            reptile_step_grouped(&mut meta, &grouped, &tasks, &queries, &inner, rates, 0.0, 9)
                .unwrap()
        };
        let outcome = step(&LayerRates::default());
        let h = outcome.hypergradient.expect("queries give a hypergradient");
        assert_eq!(outcome.query_l1.len(), 2);
        // Each tensor's hypergradient against central differences of the query loss in its
        // log-rate; biases that instance norm cancels have neither.
        let delta: f64 = 0.05;
        let mut query_loss = |name: &String, log_m: f64| {
            let rates = LayerRates::new(BTreeMap::from([(name.clone(), log_m.exp())]));
            step(&rates).query_l1.iter().sum::<f64>()
        };
        let (mut dot, mut hh, mut ff) = (0.0, 0.0, 0.0);
        for (name, &dl) in h.iter().filter(|(_, dl)| dl.abs() > 1e-5) {
            let slope = (query_loss(name, delta) - query_loss(name, -delta)) / (2.0 * delta);
            println!("{name}: hypergradient {dl:.6}, finite difference {slope:.6}");
            (dot, hh, ff) = (dot + dl * slope, hh + dl * dl, ff + slope * slope);
        }
        assert!(hh > 1e-8, "no hypergradient: {h:?}");
        let cosine = dot / (hh * ff).sqrt();
        assert!(
            cosine > 0.95,
            "hypergradients and finite differences: cosine {cosine}"
        );
    }

    #[test]
    fn eps_falls_linearly_to_zero() {
        let c = ReptileConfig {
            meta_iterations: 4,
            meta_batch: 2,
            eps: 1.0,
            inner: PersonalizeConfig::default(),
        };
        let e: Vec<f64> = (0..5).map(|i| c.eps_at(i)).collect();
        assert_eq!(e, vec![1.0, 0.75, 0.5, 0.25, 0.0]);
    }

    #[test]
    fn the_outer_step_interpolates_towards_the_personalized_weights() {
        let mut meta = pair(1);
        let mut fast = pair(2);
        let task = Shots {
            poses: Tensor::rand([3, 4, 32, 32], (Kind::Float, Device::Cpu)),
            images: Tensor::rand([3, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0,
        };
        let inner = PersonalizeConfig {
            steps: 2,
            batch: 2,
            constant_steps: 1,
            adversarial: true,
            ..PersonalizeConfig::default()
        };
        let before = flat(&meta.gen_vs);
        // eps 0 leaves the meta-weights alone; the fast copy trained away from them.
        reptile_step(
            &mut meta,
            &mut fast,
            std::slice::from_ref(&task),
            &inner,
            &LayerRates::default(),
            0.0,
            0,
        )
        .unwrap();
        assert!(flat(&meta.gen_vs).allclose(&before, 0.0, 0.0, false));
        let adapted = flat(&fast.gen_vs);
        assert!((&adapted - &before).abs().max().double_value(&[]) > 1e-6);
        // eps 1 with one task lands on the personalized weights (same seed, same run).
        reptile_step(
            &mut meta,
            &mut fast,
            std::slice::from_ref(&task),
            &inner,
            &LayerRates::default(),
            1.0,
            0,
        )
        .unwrap();
        let moved = flat(&meta.gen_vs);
        assert!(moved.allclose(&adapted, 1e-5, 1e-5, false));
        // eps 0.5: halfway between the old meta-weights and the new personalized ones.
        let start = flat(&meta.gen_vs);
        reptile_step(
            &mut meta,
            &mut fast,
            std::slice::from_ref(&task),
            &inner,
            &LayerRates::default(),
            0.5,
            0,
        )
        .unwrap();
        let expected = (&start + flat(&fast.gen_vs)) / 2.0;
        assert!(flat(&meta.gen_vs).allclose(&expected, 1e-5, 1e-5, false));
    }
}
