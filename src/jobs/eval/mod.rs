//! `metapix eval`: the retargeting benchmark of MetaPix on held-out people. For each person,
//! each method, each K and each T: personalize an init on the protocol's K frames for T
//! steps (the paper's schedule), generate the held-out last 15% from their skeletons, and
//! score them against the real frames (MSE, PSNR, SSIM over the frame and inside the
//! person's box, temporal coherence, and with a pose model the pose fidelity, [`pck`]). The
//! trivial baseline, copying the nearest of the K frames, is a method too. Each cell's record is written as it comes
//! ([`records`]), so a stopped run resumes where it was; at the end, every figure as JSON, a
//! Markdown table of means, spreads and wins over people, and PNG plots ([`table`]).

pub mod pck;
pub mod plot;
pub mod records;
pub mod table;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::{Device, Tensor};

use super::dataset::PreparedTarget;
use super::progress::Progress;
use super::JobError;
use crate::model::device::{self, DeviceChoice};
use crate::model::io::tensor_image;
use crate::model::posewarp::LAYERS;
use crate::model::Examples;
use crate::pose::{PoseConfig, PoseEstimator};
use crate::train::baseline::{nearest_shot, part_warp};
use crate::train::metrics::{part_iou, person_box, person_quality, quality, Quality};
use crate::train::{personalize, Init, Loss, Models, PersonalizeConfig, Task};
use crate::Skeleton;
use records::RecordLog;
use table::mean_std;
pub use table::{init_order, markdown, write_outputs};

/// What makes the frames of a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Personalize this init for T steps and render.
    Personalize(Init),
    /// Copy the K frame whose pose is nearest ([`crate::train::baseline`]); T does not
    /// matter, and its figures repeat for every T so that each row of the table has them.
    NearestShot,
    /// Move the nearest K frame's limbs into the pose, with no learned network
    /// ([`crate::train::baseline::part_warp`]); T does not matter either.
    PartWarp,
}

/// A validated eval job.
#[derive(Debug, Clone)]
pub struct EvalJob {
    pub targets: Vec<PathBuf>,
    /// Named methods; the first is the one the table counts wins for.
    pub inits: Vec<(String, Method)>,
    pub shots: Vec<usize>,
    pub steps: Vec<usize>,
    /// Batch and optimizer of the personalization (K and T come from the lists); its seed
    /// draws random inits and the frame order. Its `adversarial` is set per init from `loss`.
    pub config: PersonalizeConfig,
    pub loss: Loss,
    /// Held-out frames scored per person at most.
    pub test_frames: usize,
    pub device: DeviceChoice,
    /// Score pose fidelity with this pose model (it needs ONNX Runtime).
    pub pose: Option<PoseConfig>,
    /// Score target i on every frame of `test_on[i]`, another prepared target of the same
    /// person (a still in another pose), instead of on its own last 15%. Empty: the protocol.
    pub test_on: Vec<PathBuf>,
    /// The record file (JSON lines): appended cell by cell, resumed when it exists.
    pub records: PathBuf,
    /// Also write each cell's frames here, side by side in one PNG (and each person's real
    /// test frames), to look at and to make contact sheets from.
    pub frames_dir: Option<PathBuf>,
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
    /// PSNR (dB) and SSIM inside each test frame's person box (its skeleton's extent, 15%
    /// larger each way; [`crate::train::metrics::person_box`]). Absent in records made
    /// before they were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psnr_person: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssim_person: Option<f64>,
    /// PCK@0.1 of the pose model on the generated frames against the driving skeletons,
    /// the mean over the test frames (when eval ran with a pose model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pck: Option<f64>,
    /// The personalized Posewarp's segmentation of the test frames against their exact
    /// body parts, mean IoU over the limbs (people that carry them: synthetic ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_iou: Option<f64>,
}

/// One person's test frames, as the generators are scored on them.
struct TestSet {
    examples: Examples,
    driving: Vec<Skeleton>,
}

impl EvalJob {
    /// What makes two runs' records comparable: everything but the lists of people,
    /// inits, K and T, which the records name themselves.
    fn settings(&self) -> serde_json::Value {
        json!({
            "batch": self.config.batch, "lr": self.config.lr, "beta1": self.config.beta1,
            "loss": self.loss, "ssim_weight": self.config.ssim_weight,
            "l1_weight": self.config.l1_weight,
            "feature_matching_weight": self.config.feature_matching_weight,
            "seed": self.config.seed, "test_frames": self.test_frames,
            "pck": self.pose.is_some(), "test_on": self.test_on,
        })
    }

    /// Runs every cell not in the record file yet, until done or `stop`; returns every
    /// record, earlier runs' too.
    pub fn run(
        &self,
        stop: &AtomicBool,
        progress: &mut Progress,
    ) -> Result<Vec<EvalRecord>, JobError> {
        if self.shots.contains(&0) || self.config.batch == 0 {
            return Err(JobError::InvalidArgument(
                "--shots and --batch must be at least 1".into(),
            ));
        }
        if !self.test_on.is_empty() && self.test_on.len() != self.targets.len() {
            return Err(JobError::InvalidArgument(format!(
                "{} targets but {} --test-on: give one per target",
                self.targets.len(),
                self.test_on.len()
            )));
        }
        let device = device::select(self.device)?;
        let mut log = RecordLog::open(&self.records, &self.settings())?;
        let cells = self.targets.len() * self.inits.len() * self.shots.len() * self.steps.len();
        progress.set_total(Some(cells as u64));
        let mut pose = match &self.pose {
            // Generated frames are unrelated stills to the pose model: detect in each, raw.
            Some(config) => Some(PoseEstimator::new(&PoseConfig {
                static_images: true,
                smoothing: None,
                ..config.clone()
            })?),
            None => None,
        };
        let mut done = 0;
        for (i, dir) in self.targets.iter().enumerate() {
            let target = PreparedTarget::open(dir)?;
            let name = dir.display().to_string();
            // Each init is built once per person, and every cell trains a copy of it.
            for (name_of_method, method) in &self.inits {
                let base = match method {
                    Method::Personalize(init) => Some(init.build(device, self.config.seed)?),
                    Method::NearestShot | Method::PartWarp => None,
                };
                let arch = base.as_ref().map(|m| m.generator.arch());
                if let Some(arch) = &arch {
                    target.check_fits(arch)?;
                }
                // The part warp cuts limbs as Posewarp does, from the same examples.
                let input = match (&arch, method) {
                    (Some(arch), _) => arch.input(),
                    (None, Method::PartWarp) => crate::model::InputFormat::JointMaps24,
                    (None, _) => crate::model::InputFormat::PartMaps18,
                };
                let test = self.test_set(&target, i, input, device)?;
                for &k in &self.shots {
                    let train = target
                        .examples(&target.protocol_shots(k), input)?
                        .to_device(device);
                    for &t in &self.steps {
                        if stop.load(Ordering::Relaxed) {
                            progress.finish(done);
                            return Ok(log.into_records());
                        }
                        done += 1;
                        if log.has(&name, name_of_method, k, t) {
                            continue;
                        }
                        let wanted = &test.examples.skeletons;
                        let (fake, part_iou) = match (&base, method) {
                            (Some(base), _) => self.cell(base, &train, &test, k, t)?,
                            (None, Method::PartWarp) => (part_warp(&train, wanted), None),
                            (None, _) => (nearest_shot(&train, wanted), None),
                        };
                        let cell = [&name, name_of_method];
                        self.save_frames(&fake, &test, cell, k, t)?;
                        let mut record = self.score(&fake, &test, &mut pose, cell, k, t)?;
                        record.part_iou = part_iou;
                        log.append(record)?;
                        progress.update(done);
                    }
                }
            }
        }
        progress.finish(done);
        Ok(log.into_records())
    }

    /// With `frames_dir`, writes a cell's frames, and its person's real ones.
    fn save_frames(
        &self,
        fake: &Tensor,
        test: &TestSet,
        [target, method]: [&String; 2],
        k: usize,
        t: usize,
    ) -> Result<(), JobError> {
        let Some(dir) = &self.frames_dir else {
            return Ok(());
        };
        let person = stem(target);
        save_strip(fake, &dir.join(format!("{person}_{method}_k{k}_t{t}.png")))?;
        save_strip(
            &test.examples.frames,
            &dir.join(format!("{person}_real.png")),
        )
    }

    /// The record of a cell whose frames are `fake`.
    fn score(
        &self,
        fake: &Tensor,
        test: &TestSet,
        pose: &mut Option<PoseEstimator>,
        [target, method]: [&String; 2],
        k: usize,
        t: usize,
    ) -> Result<EvalRecord, JobError> {
        let pck = match pose {
            Some(pose) => pose_fidelity(pose, fake, &test.driving)?,
            None => None,
        };
        let size = test.examples.size() as i64;
        let boxes: Vec<[i64; 4]> = test
            .examples
            .skeletons
            .iter()
            .map(|s| person_box(s, size))
            .collect();
        let real = &test.examples.frames;
        let (psnr_person, ssim_person) = person_quality(fake, real, &boxes);
        Ok(EvalRecord {
            target: target.clone(),
            init: method.clone(),
            k,
            t,
            quality: quality(fake, real),
            psnr_person: Some(psnr_person),
            ssim_person: Some(ssim_person),
            pck,
            part_iou: None,
        })
    }

    /// Target `i`'s test frames: its own last 15%, or the frames of its `--test-on`.
    fn test_set(
        &self,
        target: &PreparedTarget,
        i: usize,
        input: crate::model::InputFormat,
        device: Device,
    ) -> Result<TestSet, JobError> {
        let other = self
            .test_on
            .get(i)
            .map(|d| PreparedTarget::open(d))
            .transpose()?;
        let (scored, indices) = match &other {
            Some(other) => (other, other.spread(self.test_frames)),
            None => (target, target.test_frames(self.test_frames)),
        };
        if scored.info.size != target.info.size || indices.is_empty() {
            return Err(JobError::InvalidArgument(format!(
                "{}: no test frames of {} px to score {} on",
                scored.dir.display(),
                target.info.size,
                target.dir.display()
            )));
        }
        Ok(TestSet {
            examples: scored.examples(&indices, input)?.to_device(device),
            driving: indices.iter().map(|&i| scored.skeleton(i)).collect(),
        })
    }

    /// Personalizes a copy of `base` on `train` for `t` steps and renders the test frames;
    /// with them, how well it then segments them where they carry their body parts.
    fn cell(
        &self,
        base: &Models,
        train: &Examples,
        test: &TestSet,
        k: usize,
        t: usize,
    ) -> Result<(Tensor, Option<f64>), JobError> {
        let m = base.copy().map_err(crate::train::TrainError::from)?;
        let arch = base.generator.arch();
        // As `metapix personalize` would: Posewarp takes no steps on one frame.
        let config = PersonalizeConfig {
            shots: k,
            adversarial: self.loss.adversarial(&arch),
            ..self.config.with_steps(t)
        }
        .for_shots(&arch, k);
        let task = Task {
            examples: train,
            seed: config.seed,
        };
        personalize(m.trainee(), &[task], &config, &m.rates, &mut |_, _| {
            ControlFlow::Continue(())
        })?;
        let fake = m.generator.render(train, &test.examples)?;
        // Segmenting costs a mask U-Net per frame: only where there is something to score.
        let part_iou = match &test.examples.parts {
            Some(truth) => m
                .generator
                .layer_labels(&test.examples)?
                .and_then(|found| part_iou(&found, &truth.squeeze_dim(1), LAYERS)),
            None => None,
        };
        Ok((fake, part_iou))
    }
}

/// `frames` (N, 3, S, S) side by side in one PNG.
fn save_strip(frames: &Tensor, path: &std::path::Path) -> Result<(), JobError> {
    let n = frames.size()[0];
    let images: Vec<crate::RgbImage> = (0..n).map(|i| tensor_image(&frames.get(i))).collect();
    let (w, h) = images.first().map_or((1, 1), |i| (i.width, i.height));
    let mut strip = crate::RgbImage::filled(w * n.max(1) as u32, h, [0, 0, 0]);
    for (i, image) in images.iter().enumerate() {
        strip.blit(image, i as u32 * w, 0);
    }
    strip.save_png(path).map_err(|e| JobError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// A target's folder name, for file names.
fn stem(target: &str) -> String {
    std::path::Path::new(target)
        .file_name()
        .map_or_else(|| target.to_string(), |n| n.to_string_lossy().into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell at K 5, T 20 with these figures (the rest fixed).
    fn cell_record(target: &str, init: &str, psnr: f64, ssim: f64) -> EvalRecord {
        EvalRecord {
            target: target.into(),
            init: init.into(),
            k: 5,
            t: 20,
            quality: Quality {
                mse: 0.0,
                psnr,
                ssim,
                temporal_std: 0.1,
                temporal_std_real: 0.1,
            },
            psnr_person: None,
            ssim_person: None,
            pck: None,
            part_iou: None,
        }
    }

    #[test]
    fn the_table_counts_wins_per_person_and_leaves_missing_cells_empty() {
        let record = cell_record;
        let records = [
            record("a", "metapix", 20.0, 0.9),
            record("a", "random", 10.0, 0.95),
            record("b", "metapix", 19.0, 0.8),
            record("b", "random", 21.0, 0.5),
            record("b", "avatar", 15.0, 0.5),
        ];
        let names = init_order(&records);
        assert_eq!(names, ["metapix", "random", "avatar"]);
        let table = markdown(&records, &names);
        println!("{table}");
        let row = table.lines().nth(2).unwrap();
        // metapix: 19.5 ± 0.5 dB; wins vs random: PSNR on a only, SSIM on b only; vs avatar
        // on the one person both have.
        assert!(row.starts_with("| 5 | 20 | 19.50 ± 0.50 |"), "{row}");
        assert!(row.contains("| 1/2, 1/2 | 1/1, 1/1 |"), "{row}");
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }

    #[test]
    fn person_region_figures_get_columns_and_wins_of_their_own() {
        let record = |init: &str, psnr: f64, person: f64| EvalRecord {
            psnr_person: Some(person),
            ssim_person: Some(0.4),
            pck: Some(0.9),
            part_iou: None,
            ..cell_record("a", init, psnr, 0.5)
        };
        // Better over the whole frame, worse on the person: the table must say both.
        let records = [record("metapix", 25.0, 14.0), record("copy", 23.0, 18.0)];
        let table = markdown(&records, &init_order(&records));
        println!("{table}");
        let header = table.lines().next().unwrap();
        assert!(header.contains("| copy person PSNR dB |"), "{header}");
        assert!(
            header.contains("metapix wins vs copy (PSNR, SSIM, person PSNR, person SSIM)"),
            "{header}"
        );
        let row = table.lines().nth(2).unwrap();
        assert!(
            row.contains("| 14.00 ± 0.00 |") && row.ends_with("| 1/1, 0/1, 0/1, 0/1 |"),
            "{row}"
        );
    }
}
