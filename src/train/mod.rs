//! Few-shot personalization and the learning of where it starts.
//!
//! [`personalize`] is MetaPix's inner loop: T steps of training on K frames of one person
//! (or, with a grouped generator, of G people side by side). It is the one training loop:
//! users personalize with it, Reptile ([`reptile`]) runs it for each task, and joint
//! pretraining runs it over everyone's frames. Each of its steps is [`personalize::step`].
//!
//! Losses: L1 to the real frame, and with `adversarial` the paper's LSGAN and discriminator
//! feature matching. The paper's VGG19 perceptual loss needs ImageNet weights we cannot
//! download here; L1 stands in for it.

pub mod baseline;
pub mod data;
pub mod init;
pub mod metrics;
pub mod personalize;
pub mod rates;
pub mod reptile;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use init::{Init, Models, Stored};
pub use personalize::{personalize, Task, TrainLog, Trainee};

use crate::model::examples::ExamplesError;
use crate::model::TorchError;

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
    /// Weight of (1 - SSIM) beside L1 (0: none), for the loss ablation.
    #[serde(default)]
    pub ssim_weight: f64,
    /// Weight of the cross-entropy between Posewarp's segmentation and the exact part
    /// labels of sources that carry them (synthetic people), beside L1 (0: none).
    #[serde(default)]
    pub part_weight: f64,
    pub feature_matching_weight: f64,
    /// The paper's GAN terms (LSGAN and feature matching) and the discriminator's updates;
    /// without them a step is L1 alone. (Records written before this field trained with them.)
    #[serde(default = "yes")]
    pub adversarial: bool,
    /// Seeds the order frames are drawn in (and, in jobs, the random weights).
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
            ssim_weight: 0.0,
            part_weight: 0.0,
            feature_matching_weight: 10.0,
            adversarial: false,
            seed: 0,
        }
    }
}

fn yes() -> bool {
    true
}

/// Which loss personalization trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// The generator's own: for Posewarp L1 with the paper's GAN and feature-matching terms
    /// (at K 5, T 20 they add 0.35 dB in the person's region on the real targets and 0.19
    /// dB on the synthetic validation people; docs/RESULTS.md), for Pose2Im L1 alone (the
    /// GAN terms cost it about 1 dB).
    #[default]
    ByArch,
    L1,
    Gan,
}

impl Loss {
    /// Whether personalizing a generator of `arch` takes the GAN terms.
    pub fn adversarial(self, arch: &crate::model::ArchConfig) -> bool {
        match self {
            Loss::ByArch => matches!(arch, crate::model::ArchConfig::Posewarp(_)),
            Loss::L1 => false,
            Loss::Gan => true,
        }
    }
}

impl PersonalizeConfig {
    /// The paper's schedule for `steps` steps: half at constant rate, then linearly to 0.
    pub fn with_steps(self, steps: usize) -> Self {
        Self {
            steps,
            constant_steps: steps / 2,
            ..self
        }
    }

    /// This budget as it applies to `shots` frames of a person for `arch`: no steps for
    /// an architecture that moves pixels of one frame. One frame gives it no pair to learn
    /// from, only the frame moved onto itself, and training on that taught Posewarp to stop
    /// moving limbs (iPER still, K 1: PCK@0.1 0.77 before 20 steps, 0.54 after;
    /// docs/RESULTS.md). `personalize` and `eval` both go through here.
    pub fn for_shots(self, arch: &crate::model::ArchConfig, shots: usize) -> Self {
        if arch.needs_sources() && shots == 1 {
            self.with_steps(0)
        } else {
            self
        }
    }

    /// Learning rate of step `step` (0-based): constant, then linearly down towards 0.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.constant_steps {
            return self.lr;
        }
        let decay = self.steps.saturating_sub(self.constant_steps).max(1);
        self.lr * (self.steps.saturating_sub(step)) as f64 / decay as f64
    }
}

/// Why training could not run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Torch(#[from] TorchError),
    #[error(transparent)]
    Examples(#[from] ExamplesError),
    /// The models and the tasks do not fit together (a caller's mistake, named).
    #[error("{0}")]
    Setup(String),
}

impl From<tch::TchError> for TrainError {
    fn from(e: tch::TchError) -> Self {
        TrainError::Torch(e.into())
    }
}
