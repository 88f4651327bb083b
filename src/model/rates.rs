//! Personalization's learning-rate multiplier per generator tensor, as a checkpoint stores
//! it (metadata `inner_lr`). Learning them is training's business ([`crate::train`]); this
//! is only the data, so that reading a checkpoint needs no trainer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Tensor;

/// Learning-rate multipliers by generator tensor name; a name not listed has 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LayerRates(BTreeMap<String, f64>);

impl LayerRates {
    pub fn new(multipliers: BTreeMap<String, f64>) -> Self {
        Self(multipliers)
    }

    /// The multiplier of tensor `name`.
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(1.0)
    }

    /// True when every tensor steps at the optimizer's own rate.
    pub fn is_uniform(&self) -> bool {
        self.0.values().all(|&m| m == 1.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &f64)> {
        self.0.iter()
    }

    /// The tensors of `vs` whose steps must be rescaled, with their multipliers.
    pub fn scaled_tensors(&self, vs: &VarStore) -> Vec<(Tensor, f64)> {
        let mut scaled: Vec<(String, Tensor, f64)> = vs
            .variables()
            .into_iter()
            .filter_map(|(name, t)| {
                let m = self.get(&name);
                (m != 1.0).then_some((name, t, m))
            })
            .collect();
        scaled.sort_by(|a, b| a.0.cmp(&b.0));
        scaled.into_iter().map(|(_, t, m)| (t, m)).collect()
    }
}
