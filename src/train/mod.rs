//! Few-shot personalization: T steps of pix2pixHD-style GAN training on K frames of one
//! person, the inner loop of MetaPix (and of Reptile, which calls it from the current
//! weights with a fresh optimizer).
//!
//! Losses: LSGAN, discriminator feature matching, and L1 to the real frame. The paper's VGG19
//! perceptual loss needs ImageNet weights we cannot download here; L1 stands in for it.

pub mod data;
pub mod metrics;
pub mod rates;
pub mod reptile;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Kind, Reduction, Tensor};

use crate::base::rng::SplitMix64;
use crate::model::discriminator::PatchGan;
use crate::model::Pose2Im;
use rates::{scaled_step, LayerRates};

/// The personalization budget and optimizer (defaults: the MetaPix paper's budget and
/// schedule, with L1 alone and 3x its learning rate: its GAN terms lost 0.9-1.3 dB at K 5,
/// T 20, and lr 6e-4 gained about 1 dB on every init, 2 dB on real people; docs/RESULTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PersonalizeConfig {
    pub shots: usize,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub beta1: f64,
    /// Steps at constant learning rate before the linear decay to 0 starts.
    pub constant_steps: usize,
    pub l1_weight: f64,
    pub feature_matching_weight: f64,
    /// The paper's GAN terms (LSGAN and feature matching) and the discriminator's updates;
    /// without them a step is L1 alone. (Records written before this field trained with them.)
    #[serde(default = "yes")]
    pub adversarial: bool,
    pub seed: u64,
}

impl Default for PersonalizeConfig {
    fn default() -> Self {
        Self {
            shots: 5,
            steps: 20,
            batch: 8,
            lr: 6e-4,
            beta1: 0.5,
            constant_steps: 10,
            l1_weight: 10.0,
            feature_matching_weight: 10.0,
            adversarial: false,
            seed: 0,
        }
    }
}

fn yes() -> bool {
    true
}

impl PersonalizeConfig {
    /// Learning rate of step `step` (0-based): constant, then linearly down towards 0.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.constant_steps {
            return self.lr;
        }
        let decay = self.steps.saturating_sub(self.constant_steps).max(1);
        self.lr * (self.steps.saturating_sub(step)) as f64 / decay as f64
    }
}

/// The K frames of one person: pose maps (K, C, H, W) in 0..1 and images (K, 3, H, W) in -1..1.
pub struct Shots {
    pub poses: Tensor,
    pub images: Tensor,
}

impl Shots {
    pub fn to_device(&self, device: tch::Device) -> Shots {
        Shots {
            poses: self.poses.to_device(device),
            images: self.images.to_device(device),
        }
    }

    /// The frames at `indices` (a 1-D int64 tensor on the same device).
    pub fn select(&self, indices: &Tensor) -> Shots {
        Shots {
            poses: self.poses.index_select(0, indices),
            images: self.images.index_select(0, indices),
        }
    }

    pub fn len(&self) -> usize {
        self.poses.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Losses of each step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrainLog {
    pub generator: Vec<f64>,
    pub discriminator: Vec<f64>,
    pub l1: Vec<f64>,
}

fn lsgan(scores: &Tensor, target: f64) -> Tensor {
    (scores - target).square().mean(Kind::Float)
}

/// Trains `generator` and `discriminator` (their variables in `gen_vs` and `disc_vs`) on
/// `shots` for `config.steps` steps with fresh Adam optimizers, each generator tensor at
/// its multiple of the learning rate in `rates` (an init's meta-learned ones, or uniform).
pub fn personalize(
    generator: &Pose2Im,
    gen_vs: &nn::VarStore,
    discriminator: &PatchGan,
    disc_vs: &nn::VarStore,
    shots: &Shots,
    config: &PersonalizeConfig,
    rates: &LayerRates,
) -> Result<TrainLog, tch::TchError> {
    let models = (generator, gen_vs, discriminator, disc_vs);
    personalize_with_progress(models, shots, config, rates, &mut |_| {})
}

/// [`personalize`], calling `on_step` with the number of steps done after each one (long
/// trainings show progress with it).
pub fn personalize_with_progress(
    (generator, gen_vs, discriminator, disc_vs): (
        &Pose2Im,
        &nn::VarStore,
        &PatchGan,
        &nn::VarStore,
    ),
    shots: &Shots,
    config: &PersonalizeConfig,
    rates: &LayerRates,
    on_step: &mut dyn FnMut(usize),
) -> Result<TrainLog, tch::TchError> {
    let scaled = rates.scaled_tensors(gen_vs);
    let adam = nn::Adam::default().beta1(config.beta1);
    let mut gen_opt = adam.build(gen_vs, config.lr)?;
    let mut disc_opt = adam.build(disc_vs, config.lr)?;
    let k = shots.poses.size()[0] as usize;
    let mut rng = SplitMix64::new(config.seed);
    let mut log = TrainLog::default();
    let device = gen_vs.device();
    for step in 0..config.steps {
        let lr = config.lr_at(step);
        gen_opt.set_lr(lr);
        disc_opt.set_lr(lr);
        let idx: Vec<i64> = (0..config.batch).map(|_| rng.below(k) as i64).collect();
        let idx = Tensor::from_slice(&idx).to_device(device);
        let pose = shots.poses.index_select(0, &idx);
        let real = shots.images.index_select(0, &idx);
        let fake = generator.forward(&pose);
        if !config.adversarial {
            let l1 = fake.l1_loss(&real, Reduction::Mean);
            scaled_step(&scaled, || gen_opt.backward_step(&(&l1 * config.l1_weight)));
            let l1 = l1.double_value(&[]);
            log.generator.push(l1 * config.l1_weight);
            log.discriminator.push(0.0);
            log.l1.push(l1);
            on_step(step + 1);
            continue;
        }

        // Discriminator: real patches towards 1, generated ones towards 0.
        let real_feats = discriminator.features(&pose, &real);
        let fake_feats = discriminator.features(&pose, &fake.detach());
        let scales = real_feats.len() as f64;
        let d_loss = real_feats
            .iter()
            .zip(&fake_feats)
            .map(|(r, f)| lsgan(r.last().unwrap(), 1.0) + lsgan(f.last().unwrap(), 0.0))
            .fold(Tensor::zeros([], (Kind::Float, device)), |a, b| a + b)
            * (0.5 / scales);
        disc_opt.backward_step(&d_loss);

        // Generator: fool the discriminator, match its features on real frames, stay close.
        let fake_feats = discriminator.features(&pose, &fake);
        let mut adv = Tensor::zeros([], (Kind::Float, device));
        let mut fm = Tensor::zeros([], (Kind::Float, device));
        for (r, f) in real_feats.iter().zip(&fake_feats) {
            adv += lsgan(f.last().unwrap(), 1.0);
            let layers = (f.len() - 1) as f64;
            for (rf, ff) in r.iter().zip(f).take(f.len() - 1) {
                fm += ff.l1_loss(&rf.detach(), Reduction::Mean) / layers;
            }
        }
        let l1 = fake.l1_loss(&real, Reduction::Mean);
        let g_loss =
            adv / scales + fm * (config.feature_matching_weight / scales) + &l1 * config.l1_weight;
        scaled_step(&scaled, || gen_opt.backward_step(&g_loss));

        log.generator.push(g_loss.double_value(&[]));
        log.discriminator.push(d_loss.double_value(&[]));
        log.l1.push(l1.double_value(&[]));
        on_step(step + 1);
    }
    Ok(log)
}

#[cfg(test)]
mod tests;
