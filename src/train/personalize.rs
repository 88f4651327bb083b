//! The inner loop: T steps of Adam on batches drawn from K frames, each generator tensor at
//! its multiple of the learning rate.

use std::ops::ControlFlow;

use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Kind, Reduction, Tensor};

use super::rates::{limited_to_lite_width, scaled_step, LayerRates};
use super::{PersonalizeConfig, TrainError};
use crate::base::rng::SplitMix64;
use crate::model::{guard, Batch, Examples, Generator, PatchGan};

/// What a personalization trains: a generator (G models side by side when it is grouped,
/// one task each) and, for the GAN terms, a discriminator, each with its variables.
#[derive(Clone, Copy)]
pub struct Trainee<'a> {
    pub generator: &'a Generator,
    pub gen_vs: &'a VarStore,
    pub discriminator: Option<(&'a PatchGan, &'a VarStore)>,
}

/// One person's frames to personalize on, and the seed of the order they are drawn in.
#[derive(Clone, Copy)]
pub struct Task<'a> {
    pub examples: &'a Examples,
    pub seed: u64,
}

/// Losses of each step (the mean over the groups of a grouped generator).
#[derive(Debug, Clone, Default)]
pub struct TrainLog {
    pub generator: Vec<f64>,
    pub discriminator: Vec<f64>,
    pub l1: Vec<f64>,
    /// Each task's L1 at the last step.
    pub last_l1: Vec<f64>,
}

/// Losses are read back from the device this many steps at a time, so that the loop does
/// not wait for the device after every step.
pub const LOG_EVERY: usize = 64;

/// Trains `trainee` on `tasks` (one per group) for `config.steps` steps with fresh Adam
/// optimizers, each generator tensor at its multiple of the learning rate in `rates` (an
/// init's meta-learned ones, or uniform), none faster than [`limited_to_lite_width`]
/// allows. `on_step` hears the number of steps done after
/// each one and the losses read back so far (every [`LOG_EVERY`] steps), and may stop the
/// loop early.
pub fn personalize(
    trainee: Trainee<'_>,
    tasks: &[Task<'_>],
    config: &PersonalizeConfig,
    rates: &LayerRates,
    on_step: &mut dyn FnMut(usize, &TrainLog) -> ControlFlow<()>,
) -> Result<TrainLog, TrainError> {
    check(&trainee, tasks, config)?;
    let groups = trainee.generator.groups();
    let arch = trainee.generator.arch();
    let scaled = limited_to_lite_width(rates, trainee.gen_vs, &arch).scaled_tensors(trainee.gen_vs);
    let adam = nn::Adam::default().beta1(config.beta1);
    let mut gen_opt = adam.build(trainee.gen_vs, config.lr)?;
    let mut critic = match trainee.discriminator.filter(|_| config.adversarial) {
        Some((d, vs)) => Some((d, adam.build(vs, config.lr)?)),
        None => None,
    };
    let mut rngs: Vec<SplitMix64> = tasks.iter().map(|t| SplitMix64::new(t.seed)).collect();
    let mut log = TrainLog::default();
    let mut pending = Vec::new();
    for step_index in 0..config.steps {
        let lr = config.lr_at(step_index);
        gen_opt.set_lr(lr);
        if let Some((_, opt)) = &mut critic {
            opt.set_lr(lr);
        }
        let critic = critic.as_mut().map(|(d, opt)| (*d, opt));
        // The batch too: gathering it is where a batch too large for the device fails.
        let (losses, real) = guard::torch(|| {
            let batches = tasks
                .iter()
                .zip(&mut rngs)
                .map(|(task, rng)| {
                    let n = task.examples.len();
                    let idx: Vec<i64> = (0..config.batch).map(|_| rng.below(n) as i64).collect();
                    trainee.generator.batch(task.examples, &idx, rng)
                })
                .collect();
            let batch = Batch::side_by_side(batches);
            let losses = step(
                trainee.generator,
                critic,
                &mut gen_opt,
                &scaled,
                &batch,
                config,
            );
            (losses, batch.real)
        })?;
        if step_index + 1 == config.steps {
            log.last_l1 = per_group_l1(&losses.fake, &real, groups)?;
        }
        pending.push(losses.values);
        if pending.len() == LOG_EVERY {
            read_back(&mut pending, &mut log)?;
        }
        if on_step(step_index + 1, &log).is_break() {
            break;
        }
    }
    read_back(&mut pending, &mut log)?;
    Ok(log)
}

/// What a step leaves behind.
pub struct StepLosses {
    /// (l1, generator, discriminator) as one tensor on the device.
    pub values: Tensor,
    /// The generated batch.
    pub fake: Tensor,
}

/// One step of personalization on `batch`: the generator's loss (L1; with a critic also the
/// paper's GAN terms, after the critic's own step), backward, and an Adam step with each
/// tensor in `scaled` moved at its rate multiplier. The L1 of a grouped generator is summed
/// over its groups, so each group's gradient is that of its own task alone.
pub fn step(
    generator: &Generator,
    critic: Option<(&PatchGan, &mut nn::Optimizer)>,
    gen_opt: &mut nn::Optimizer,
    scaled: &[(Tensor, f64)],
    batch: &Batch,
    config: &PersonalizeConfig,
) -> StepLosses {
    let groups = generator.groups() as f64;
    let (pose, real) = (&batch.condition.pose, &batch.real);
    let (fake, parts) = if config.part_weight > 0.0 {
        generator.forward_with_parts(&batch.condition)
    } else {
        (generator.forward(&batch.condition), None)
    };
    let parts = parts.map_or_else(
        || fake.zeros_like().sum(Kind::Float),
        |p| p * config.part_weight,
    );
    let Some((discriminator, disc_opt)) = critic else {
        let l1 = fake.l1_loss(real, Reduction::Mean);
        let loss = &l1 * (config.l1_weight * groups)
            + structure_loss(&fake, real, config) * groups
            + parts;
        scaled_step(scaled, || gen_opt.backward_step(&loss));
        let l1 = l1.detach();
        let values = Tensor::stack(&[&l1, &(&l1 * config.l1_weight), &l1.zeros_like()], 0);
        return StepLosses { values, fake };
    };

    // Discriminator: real patches towards 1, generated ones towards 0.
    let device = fake.device();
    let real_feats = discriminator.features(pose, real);
    let fake_feats = discriminator.features(pose, &fake.detach());
    let scales = real_feats.len() as f64;
    let d_loss = real_feats
        .iter()
        .zip(&fake_feats)
        .map(|(r, f)| lsgan(last(r), 1.0) + lsgan(last(f), 0.0))
        .fold(Tensor::zeros([], (Kind::Float, device)), |a, b| a + b)
        * (0.5 / scales);
    disc_opt.backward_step(&d_loss);

    // Generator: fool the discriminator, match its features on real frames, stay close.
    let fake_feats = discriminator.features(pose, &fake);
    let mut adv = Tensor::zeros([], (Kind::Float, device));
    let mut fm = Tensor::zeros([], (Kind::Float, device));
    for (r, f) in real_feats.iter().zip(&fake_feats) {
        adv += lsgan(last(f), 1.0);
        let layers = (f.len() - 1) as f64;
        for (rf, ff) in r.iter().zip(f).take(f.len() - 1) {
            fm += ff.l1_loss(&rf.detach(), Reduction::Mean) / layers;
        }
    }
    let l1 = fake.l1_loss(real, Reduction::Mean);
    let g_loss = adv / scales
        + fm * (config.feature_matching_weight / scales)
        + &l1 * config.l1_weight
        + structure_loss(&fake, real, config)
        + parts;
    scaled_step(scaled, || gen_opt.backward_step(&g_loss));
    let values = Tensor::stack(&[l1.detach(), g_loss.detach(), d_loss.detach()], 0);
    StepLosses { values, fake }
}

/// The SSIM term: `ssim_weight` x (1 - mean SSIM) of the frames (in -1..1), or 0.
fn structure_loss(fake: &Tensor, real: &Tensor, config: &PersonalizeConfig) -> Tensor {
    if config.ssim_weight == 0.0 {
        return Tensor::zeros([], (fake.kind(), fake.device()));
    }
    let unit = |t: &Tensor| (t + 1.0) / 2.0;
    let similarity = super::metrics::ssim_map(&unit(fake), &unit(real)).mean(fake.kind());
    (-similarity + 1.0) * config.ssim_weight
}

/// Refuses what the loop cannot run, before libtorch would.
fn check(
    trainee: &Trainee<'_>,
    tasks: &[Task<'_>],
    config: &PersonalizeConfig,
) -> Result<(), TrainError> {
    let groups = trainee.generator.groups();
    let setup = |m: String| Err(TrainError::Setup(m));
    if tasks.len() as i64 != groups {
        return setup(format!(
            "{} tasks for a generator of {groups} groups",
            tasks.len()
        ));
    }
    if config.batch == 0 {
        return setup("a batch of 0 frames".into());
    }
    if !(config.ssim_weight >= 0.0 && config.ssim_weight.is_finite()) {
        return setup(format!("an SSIM weight of {}", config.ssim_weight));
    }
    if config.adversarial && (groups != 1 || trainee.discriminator.is_none()) {
        return setup(format!(
            "the GAN terms need one generator and its discriminator (got {groups} groups, {} discriminator)",
            if trainee.discriminator.is_some() { "a" } else { "no" }
        ));
    }
    let sizes: Vec<u32> = tasks.iter().map(|t| t.examples.size()).collect();
    if tasks.iter().any(|t| t.examples.is_empty()) || sizes.windows(2).any(|w| w[0] != w[1]) {
        return setup(format!(
            "tasks of frames {sizes:?} px, some empty or of other sizes"
        ));
    }
    let arch = trainee.generator.arch();
    arch.check_size(sizes[0])
        .map_err(|e| TrainError::Setup(format!("frames of {e}")))?;
    Ok(())
}

fn lsgan(scores: &Tensor, target: f64) -> Tensor {
    (scores - target).square().mean(Kind::Float)
}

fn last(features: &[Tensor]) -> &Tensor {
    features.last().expect("a discriminator scale has layers")
}

/// Moves the pending steps' losses into `log` (one wait for the device).
fn read_back(pending: &mut Vec<Tensor>, log: &mut TrainLog) -> Result<(), TrainError> {
    if pending.is_empty() {
        return Ok(());
    }
    let values = guard::torch(|| Tensor::stack(pending, 0).to_kind(Kind::Double))?;
    let rows = Vec::<Vec<f64>>::try_from(values)?;
    for row in rows {
        log.l1.push(row[0]);
        log.generator.push(row[1]);
        log.discriminator.push(row[2]);
    }
    pending.clear();
    Ok(())
}

/// Each group's mean L1 between grouped outputs `fake` and `real` (N, G*C, H, W).
pub(crate) fn per_group_l1(
    fake: &Tensor,
    real: &Tensor,
    groups: i64,
) -> Result<Vec<f64>, TrainError> {
    let frames = fake.size()[0];
    let per_group = guard::torch(|| {
        tch::no_grad(|| {
            (fake - real).abs().view([frames, groups, -1]).mean_dim(
                [0, 2].as_slice(),
                false,
                Kind::Double,
            )
        })
    })?;
    Ok(Vec::<f64>::try_from(per_group)?)
}
