//! Reptile (Nichol, Achiam and Schulman, 2018) over personalization tasks, as MetaPix
//! meta-trains: a task is one person and K of their frames; the inner loop is exactly the
//! personalization users run ([`super::personalize`], fresh Adam optimizers); the outer
//! update moves the meta-weights of the generator and the discriminator towards the
//! average of the personalized ones, by a step size annealed linearly to 0.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Tensor;

use super::{personalize, PersonalizeConfig, Shots};
use crate::model::discriminator::PatchGan;
use crate::model::Pose2Im;

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

/// One outer update: personalizes a copy of `meta` on each of `tasks` (`seed` makes each
/// task's frame order differ), then moves `meta` by `eps` towards their mean. Returns each
/// task's L1 at its last inner step.
pub fn reptile_step(
    meta: &mut Pair,
    fast: &mut Pair,
    tasks: &[Shots],
    inner: &PersonalizeConfig,
    eps: f64,
    seed: u64,
) -> Result<Vec<f64>, tch::TchError> {
    let mut sum_g = zeros_like(&meta.gen_vs);
    let mut sum_d = zeros_like(&meta.disc_vs);
    let mut last_l1 = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        fast.gen_vs.copy(&meta.gen_vs)?;
        fast.disc_vs.copy(&meta.disc_vs)?;
        let config = PersonalizeConfig {
            seed: seed.wrapping_mul(7919).wrapping_add(i as u64),
            ..*inner
        };
        let log = personalize(
            &fast.generator,
            &fast.gen_vs,
            &fast.discriminator,
            &fast.disc_vs,
            task,
            &config,
        )?;
        last_l1.push(log.l1.last().copied().unwrap_or(f64::NAN));
        accumulate(&mut sum_g, &fast.gen_vs);
        accumulate(&mut sum_d, &fast.disc_vs);
    }
    let scale = eps / tasks.len().max(1) as f64;
    move_towards(&meta.gen_vs, &sum_g, tasks.len(), scale);
    move_towards(&meta.disc_vs, &sum_d, tasks.len(), scale);
    Ok(last_l1)
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
            ..PersonalizeConfig::default()
        };
        let before = flat(&meta.gen_vs);
        // eps 0 leaves the meta-weights alone; the fast copy trained away from them.
        reptile_step(
            &mut meta,
            &mut fast,
            std::slice::from_ref(&task),
            &inner,
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
            0.5,
            0,
        )
        .unwrap();
        let expected = (&start + flat(&fast.gen_vs)) / 2.0;
        assert!(flat(&meta.gen_vs).allclose(&expected, 1e-5, 1e-5, false));
    }
}
