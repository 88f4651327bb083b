//! Per-layer learning rates of personalization, meta-learned alongside the init (as
//! Meta-SGD learns them, though per tensor rather than per weight, and first-order).
//!
//! Personalization steps with Adam, whose step is proportional to its learning rate and
//! independent of the gradient's scale. A tensor's rate multiplier therefore scales its
//! step exactly: after each optimizer step the tensor is moved to `before + m (after -
//! before)`. A multiplier near 0 freezes a layer, which is how adapting only some layers
//! (as few-shot vid2vid does) falls out of learning the rates.
//!
//! Learning them: after the inner loop, a task's personalized weights `theta_T = theta_0 +
//! m D` are scored on other frames of the same person (the query). To first order,
//! `d L_query / d log m = <grad L_query(theta_T), theta_T - theta_0>` per tensor, summed over
//! the meta-batch; [`RateLearner`] follows that hypergradient with Adam on `log m`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::model::{ArchConfig, Generator, Preset};

pub use crate::model::rates::LayerRates;

/// Runs one optimizer step (`step`) and rescales the move of each tensor in `scaled`
/// (from [`LayerRates::scaled_tensors`]) by its multiplier.
pub fn scaled_step(scaled: &[(Tensor, f64)], step: impl FnOnce()) {
    let before: Vec<Tensor> = tch::no_grad(|| scaled.iter().map(|(t, _)| t.copy()).collect());
    step();
    tch::no_grad(|| {
        for ((t, m), b) in scaled.iter().zip(&before) {
            // t <- b + m (t - b)
            let moved = (t - b) * *m + b;
            let mut t = t.shallow_clone();
            t.copy_(&moved);
        }
    });
}

/// `rates` with each weight's multiplier limited to `min(1, widest / fan-in)`, `widest`
/// the largest fan-in (inputs per output: channels in x kernel area) of `arch`'s lite
/// shape. Adam moves every weight by about the rate per step, and the moves of one output's
/// weights follow the sign of one product of input and error, so they add up: a layer's
/// outputs move by about the rate times its fan-in. The paper's shapes are up to eight
/// times as wide as the lite ones whose rates are known to train, and at those rates their
/// segmentation collapsed (docs/RESULTS.md, "The Posewarp paper preset"). With the limit
/// no layer moves its outputs further per step than the lite shape's widest; on the lite
/// shapes it changes nothing.
pub fn limited_to_lite_width(rates: &LayerRates, vs: &VarStore, arch: &ArchConfig) -> LayerRates {
    let widest = lite_widest_fan_in(arch) as f64;
    let mut limited: BTreeMap<String, f64> = rates.iter().map(|(n, m)| (n.clone(), *m)).collect();
    for (name, tensor) in vs.variables() {
        let fan_in = fan_in(&tensor.size()) as f64;
        if fan_in > widest {
            *limited.entry(name).or_insert(1.0) *= widest / fan_in;
        }
    }
    LayerRates::new(limited)
}

/// Inputs per output of a weight: channels in x kernel area for a convolution (the last
/// three dimensions: a grouped generator stacks its groups in front), inputs for a linear
/// layer, 1 for a bias.
fn fan_in(size: &[i64]) -> i64 {
    match size.len() {
        0 | 1 => 1,
        2 => size[1],
        n => size[n - 3..].iter().product(),
    }
}

/// The largest fan-in of a weight in `arch`'s lite shape (built once per architecture).
fn lite_widest_fan_in(arch: &ArchConfig) -> i64 {
    static WIDEST: OnceLock<[i64; 2]> = OnceLock::new();
    let widest = WIDEST.get_or_init(|| {
        [
            ArchConfig::pose2im(Preset::Lite),
            ArchConfig::posewarp(Preset::Lite),
        ]
        .map(|lite| {
            let vs = VarStore::new(Device::Cpu);
            let _shape = tch::no_grad(|| Generator::new(&vs.root(), &lite));
            let sizes = vs.variables().into_values().map(|t| fan_in(&t.size()));
            sizes.max().unwrap_or(1)
        })
    });
    match arch {
        ArchConfig::Pose2Im(_) => widest[0],
        ArchConfig::Posewarp(_) => widest[1],
    }
}

/// Adam on the log-multipliers, following hypergradients (one update per meta-iteration).
#[derive(Debug, Clone)]
pub struct RateLearner {
    log_rates: BTreeMap<String, f64>,
    moments: BTreeMap<String, (f64, f64)>,
    updates: i32,
    /// Adam's step on log m: each update moves a multiplier by at most about this factor.
    pub lr: f64,
    /// Multipliers stay within [1/bound, bound].
    pub bound: f64,
}

impl RateLearner {
    /// Starts from `rates` (all 1 for a fresh run) for the tensors named in `names`.
    pub fn new<'a>(
        rates: &LayerRates,
        names: impl IntoIterator<Item = &'a String>,
        lr: f64,
    ) -> Self {
        let log_rates = names
            .into_iter()
            .map(|n| (n.clone(), rates.get(n).ln()))
            .collect();
        Self {
            log_rates,
            moments: BTreeMap::new(),
            updates: 0,
            lr,
            bound: 20.0,
        }
    }

    pub fn rates(&self) -> LayerRates {
        LayerRates::new(
            self.log_rates
                .iter()
                .map(|(n, l)| (n.clone(), l.exp()))
                .collect(),
        )
    }

    /// One Adam step on each log-multiplier against its hypergradient.
    pub fn update(&mut self, hypergradient: &BTreeMap<String, f64>) {
        const BETA1: f64 = 0.9;
        const BETA2: f64 = 0.999;
        self.updates += 1;
        let limit = self.bound.ln();
        for (name, log_rate) in self.log_rates.iter_mut() {
            let Some(&h) = hypergradient.get(name) else {
                continue;
            };
            let (m, v) = self.moments.entry(name.clone()).or_insert((0.0, 0.0));
            *m = BETA1 * *m + (1.0 - BETA1) * h;
            *v = BETA2 * *v + (1.0 - BETA2) * h * h;
            let m_hat = *m / (1.0 - BETA1.powi(self.updates));
            let v_hat = *v / (1.0 - BETA2.powi(self.updates));
            *log_rate -= self.lr * m_hat / (v_hat.sqrt() + 1e-30);
            *log_rate = log_rate.clamp(-limit, limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};
    use tch::Kind;

    #[test]
    fn a_multiplier_scales_the_adam_step_of_its_tensor_only() {
        let run = |rates: &LayerRates| {
            // Fixed values: other tests reseed the global generator from other threads.
            let vs = VarStore::new(Device::Cpu);
            let a = vs
                .root()
                .var_copy("a", &Tensor::from_slice(&[0.3f32, -1.2, 0.8, 2.0]));
            let b = vs
                .root()
                .var_copy("b", &Tensor::from_slice(&[-0.5f32, 0.1, 1.5, -2.2]));
            let start = (a.copy(), b.copy());
            let mut opt = nn::Adam::default().build(&vs, 0.1).unwrap();
            let scaled = rates.scaled_tensors(&vs);
            let loss = (&a * 3.0 - 1.0).square().sum(Kind::Float) + b.square().sum(Kind::Float);
            scaled_step(&scaled, || opt.backward_step(&loss));
            (&a - start.0, &b - start.1)
        };
        let (a1, b1) = run(&LayerRates::default());
        let (a2, b2) = run(&LayerRates::new(BTreeMap::from([
            ("a".to_string(), 2.5),
            ("b".to_string(), 0.0),
        ])));
        assert!(a1.abs().sum(Kind::Float).double_value(&[]) > 0.1);
        // a2 is a1 scaled in f32: each of the few roundings in between is within half an
        // ulp of values up to |b + m (t - b)| < 8, so 16 epsilons of that bounds them on
        // any CPU; a multiplier off by 1% would be off by 2.5e-3 here.
        let bound = 16.0 * f64::from(f32::EPSILON) * 8.0;
        assert!((a2 - a1 * 2.5).abs().max().double_value(&[]) < bound);
        assert_eq!(b2.abs().max().double_value(&[]), 0.0);
        assert!(b1.abs().max().double_value(&[]) > 0.01);
    }

    #[test]
    fn only_weights_wider_than_the_lite_shapes_widest_step_slower() {
        for (lite, paper) in [
            (
                ArchConfig::posewarp(Preset::Lite),
                ArchConfig::posewarp(Preset::Paper),
            ),
            (
                ArchConfig::pose2im(Preset::Lite),
                ArchConfig::pose2im(Preset::Paper),
            ),
        ] {
            let shape = |arch: &ArchConfig| {
                let vs = VarStore::new(Device::Cpu);
                let _g = tch::no_grad(|| Generator::new(&vs.root(), arch));
                vs
            };
            let learned = LayerRates::new(BTreeMap::from([("x".to_string(), 0.5)]));
            let lite_vs = shape(&lite);
            let on_lite = limited_to_lite_width(&learned, &lite_vs, &lite);
            assert_eq!(
                on_lite,
                learned,
                "{}: the lite shape steps as it did",
                lite.name()
            );

            let paper_vs = shape(&paper);
            let on_paper = limited_to_lite_width(&learned, &paper_vs, &paper);
            let widest = lite_widest_fan_in(&paper) as f64;
            let mut slowed = 0;
            for (name, t) in paper_vs.variables() {
                let fan_in = fan_in(&t.size()) as f64;
                let expected = if fan_in > widest {
                    widest / fan_in
                } else {
                    1.0
                };
                assert_eq!(on_paper.get(&name), expected, "{name}: fan-in {fan_in}");
                slowed += usize::from(fan_in > widest);
            }
            assert_eq!(on_paper.get("x"), 0.5, "learned multipliers are kept");
            println!(
                "{}: {slowed} weights slowed, lite's widest fan-in {widest}",
                paper.name()
            );
            assert!(slowed > 0, "the paper shape is wider than the lite one");
        }
    }

    #[test]
    fn the_learner_raises_rates_that_lower_the_query_loss_and_keeps_them_bounded() {
        let names = ["up".to_string(), "down".to_string(), "unseen".to_string()];
        let mut learner = RateLearner::new(&LayerRates::default(), &names, 0.5);
        let h = BTreeMap::from([("up".to_string(), -3.0), ("down".to_string(), 1e-6)]);
        for _ in 0..100 {
            learner.update(&h);
        }
        let rates = learner.rates();
        assert!((rates.get("up") - 20.0).abs() < 1e-9, "{rates:?}");
        assert!((rates.get("down") - 0.05).abs() < 1e-9, "{rates:?}");
        assert_eq!(rates.get("unseen"), 1.0);
        assert_eq!(rates.get("not a tensor"), 1.0);
        assert!(!rates.is_uniform());
    }
}
