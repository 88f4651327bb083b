//! `metapix eval`: the retargeting benchmark of MetaPix on held-out people. For each person,
//! each initialization, each K and each T: personalize on the protocol's K frames for T
//! steps (the paper's schedule), generate the held-out last 15% from their skeletons, and
//! score them against the real frames (MSE, PSNR, SSIM, temporal coherence, and with a pose
//! model the pose fidelity, [`pck`]). Writes every figure as JSON and a
//! Markdown table of means, spreads and wins over people, and PNG plots ([`plot`]).

pub mod pck;
pub mod plot;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tch::nn::Module;
use tch::{Device, Tensor};

use super::dataset::PreparedTarget;
use super::personalize::Init;
use super::JobError;
use crate::jobs::progress::Progress;
use crate::model::device::{self, DeviceChoice};
use crate::model::io::tensor_image;
use crate::pose::{PoseConfig, PoseEstimator};
use crate::train::metrics::{quality, Quality};
use crate::train::PersonalizeConfig;
use crate::Skeleton;

/// A validated eval job.
#[derive(Debug, Clone)]
pub struct EvalJob {
    pub targets: Vec<PathBuf>,
    /// Named initializations; the first is the one the table counts wins for.
    pub inits: Vec<(String, Init)>,
    pub shots: Vec<usize>,
    pub steps: Vec<usize>,
    /// Batch and optimizer of the personalization (K and T come from the lists).
    pub config: PersonalizeConfig,
    /// Held-out frames scored per person at most.
    pub test_frames: usize,
    pub device: DeviceChoice,
    /// Score pose fidelity with this pose model (it needs ONNX Runtime).
    pub pose: Option<PoseConfig>,
    /// Score target i on every frame of `test_on[i]`, another prepared target of the same
    /// person (a still in another pose), instead of on its own last 15%. Empty: the protocol.
    pub test_on: Vec<PathBuf>,
}

/// One personalization's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalRecord {
    pub target: String,
    pub init: String,
    pub k: usize,
    pub t: usize,
    #[serde(flatten)]
    pub quality: Quality,
    /// PCK@0.1 of the pose model on the generated frames against the driving skeletons,
    /// the mean over the test frames (when eval ran with a pose model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pck: Option<f64>,
}

impl EvalJob {
    pub fn run(&self, progress: &mut Progress) -> Result<Vec<EvalRecord>, JobError> {
        let device =
            device::select(self.device).map_err(|e| JobError::InvalidArgument(e.to_string()))?;
        if !self.test_on.is_empty() && self.test_on.len() != self.targets.len() {
            return Err(JobError::InvalidArgument(format!(
                "{} targets but {} --test-on: give one per target",
                self.targets.len(),
                self.test_on.len()
            )));
        }
        let runs = self.targets.len() * self.inits.len() * self.shots.len() * self.steps.len();
        progress.set_total(Some(runs as u64));
        let mut records = Vec::with_capacity(runs);
        let mut pose = match &self.pose {
            // Generated frames are unrelated stills to the pose model: detect in each, raw.
            Some(config) => Some(PoseEstimator::new(&PoseConfig {
                static_images: true,
                smoothing: None,
                ..config.clone()
            })?),
            None => None,
        };
        for (i, dir) in self.targets.iter().enumerate() {
            let target = PreparedTarget::open(dir)?;
            let other = self
                .test_on
                .get(i)
                .map(|d| PreparedTarget::open(d))
                .transpose()?;
            let (scored, test_indices) = match &other {
                Some(other) => (other, other.spread(self.test_frames)),
                None => (&target, target.test_frames(self.test_frames)),
            };
            if scored.info.size != target.info.size || test_indices.is_empty() {
                return Err(JobError::InvalidArgument(format!(
                    "{}: no test frames of {} px to score {} on",
                    scored.dir.display(),
                    target.info.size,
                    dir.display()
                )));
            }
            let driving: Vec<Skeleton> = test_indices.iter().map(|&i| scored.skeleton(i)).collect();
            let tests = scored.load(&test_indices)?.to_device(device);
            for &k in &self.shots {
                let train = target.load(&target.protocol_shots(k))?.to_device(device);
                for (name, init) in &self.inits {
                    for &t in &self.steps {
                        let m = init.build(device)?;
                        let config = PersonalizeConfig {
                            shots: k,
                            steps: t,
                            constant_steps: t / 2,
                            ..self.config
                        };
                        m.personalize(&train, &config)?;
                        let fake = generate(&m.generator, &tests.poses, device);
                        let pck = match &mut pose {
                            Some(pose) => pose_fidelity(pose, &fake, &driving)?,
                            None => None,
                        };
                        records.push(EvalRecord {
                            target: dir.display().to_string(),
                            init: name.clone(),
                            k,
                            t,
                            quality: quality(&fake, &tests.images),
                            pck,
                        });
                        progress.update(records.len() as u64);
                    }
                }
            }
        }
        progress.finish(records.len() as u64);
        Ok(records)
    }
}

/// Mean PCK@0.1 over the frames whose driving skeleton shows joints to compare.
fn pose_fidelity(
    pose: &mut PoseEstimator,
    fake: &Tensor,
    driving: &[Skeleton],
) -> Result<Option<f64>, JobError> {
    let mut scores = Vec::with_capacity(driving.len());
    for (i, skeleton) in driving.iter().enumerate() {
        let image = tensor_image(&fake.get(i as i64));
        let found = pose.process(&image, Duration::ZERO)?;
        scores.extend(pck::pck(&found, skeleton, pck::ALPHA));
    }
    Ok((!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64))
}

/// The generator's frames for `poses`, a few at a time.
fn generate(generator: &crate::model::Pose2Im, poses: &Tensor, device: Device) -> Tensor {
    tch::no_grad(|| {
        let chunks: Vec<Tensor> = poses
            .split(8, 0)
            .iter()
            .map(|p| generator.forward(&p.to_device(device)))
            .collect();
        Tensor::cat(&chunks, 0)
    })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The Markdown table: one row per (K, T), per init the mean ± standard deviation over people
/// of PSNR and SSIM and the mean temporal-coherence gap (|generated - real| std of frame
/// intensity), and on how many people the first init beats each other one.
pub fn markdown(records: &[EvalRecord], inits: &[String]) -> String {
    let mut keys: Vec<(usize, usize)> = records.iter().map(|r| (r.k, r.t)).collect();
    keys.sort();
    keys.dedup();
    let with_pck = records.iter().any(|r| r.pck.is_some());
    let per_init = if with_pck { 4 } else { 3 };
    let mut out = String::from("| K | T |");
    for name in inits {
        let _ = write!(out, " {name} PSNR dB | {name} SSIM | {name} TC gap |");
        if with_pck {
            let _ = write!(out, " {name} PCK@0.1 |");
        }
    }
    for name in inits.iter().skip(1) {
        let _ = write!(out, " {} wins vs {name} (PSNR, SSIM) |", inits[0]);
    }
    let columns = 2 + per_init * inits.len() + inits.len().saturating_sub(1);
    out.push_str(&format!("\n|{}\n", "---|".repeat(columns)));
    for (k, t) in keys {
        let of = |init: &str| -> Vec<&EvalRecord> {
            records
                .iter()
                .filter(|r| r.k == k && r.t == t && r.init == init)
                .collect()
        };
        let _ = write!(out, "| {k} | {t} |");
        for name in inits {
            let rs = of(name);
            if rs.is_empty() {
                // Merged results need not share every cell.
                out.push_str(&" – |".repeat(per_init));
                continue;
            }
            let (p, ps) = mean_std(&rs.iter().map(|r| r.quality.psnr).collect::<Vec<_>>());
            let (s, ss) = mean_std(&rs.iter().map(|r| r.quality.ssim).collect::<Vec<_>>());
            let gaps: Vec<f64> = rs
                .iter()
                .map(|r| (r.quality.temporal_std - r.quality.temporal_std_real).abs())
                .collect();
            let (tc, _) = mean_std(&gaps);
            let _ = write!(out, " {p:.2} ± {ps:.2} | {s:.4} ± {ss:.4} | {tc:.4} |");
            if with_pck {
                let pcks: Vec<f64> = rs.iter().filter_map(|r| r.pck).collect();
                if pcks.is_empty() {
                    out.push_str(" – |");
                } else {
                    let (m, sd) = mean_std(&pcks);
                    let _ = write!(out, " {m:.3} ± {sd:.3} |");
                }
            }
        }
        let first = of(&inits[0]);
        for name in inits.iter().skip(1) {
            let other = of(name);
            let (mut wp, mut ws, mut n) = (0, 0, 0);
            for a in &first {
                if let Some(b) = other.iter().find(|b| b.target == a.target) {
                    n += 1;
                    wp += usize::from(a.quality.psnr > b.quality.psnr);
                    ws += usize::from(a.quality.ssim > b.quality.ssim);
                }
            }
            if n == 0 {
                out.push_str(" – |");
            } else {
                let _ = write!(out, " {wp}/{n}, {ws}/{n} |");
            }
        }
        out.push('\n');
    }
    out
}
