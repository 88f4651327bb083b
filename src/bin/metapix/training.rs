//! The commands that train and measure: personalize, pretrain, meta-train, eval, report.

use std::path::PathBuf;

use anyhow::bail;
use metapix::jobs::dataset;
use metapix::jobs::eval::{self, records, EvalJob, Method};
use metapix::jobs::init_training::{MetaTrainJob, PretrainJob, RateLearning, TrainingData};
use metapix::jobs::personalize::PersonalizeJob;
use metapix::model::{ArchConfig, Preset};
use metapix::pose::PoseConfig;
use metapix::train::reptile::ReptileConfig;
use metapix::train::{Init, Loss, PersonalizeConfig, Stored};

use crate::cli::{self, DeviceArg};

/// `--preset`: the generator's size for random weights.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresetArg {
    /// Live at 256x256 on a 2-core CPU (about 1.4 M parameters).
    Lite,
    /// The paper's pix2pixHD global generator (about 182 M parameters).
    Paper,
    /// Lite with Posewarp's foreground U-Net at half size, for live use on 2 cores (Pose2Im: lite).
    LiteFast,
}

/// `--arch`: which generator.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchArg {
    /// pix2pixHD: the person drawn from the pose by the weights alone.
    Pose2im,
    /// Posewarp: the person's own pixels moved into the pose.
    Posewarp,
}

impl PresetArg {
    fn arch(self, arch: ArchArg) -> ArchConfig {
        let preset = match self {
            PresetArg::Lite => Preset::Lite,
            PresetArg::Paper => Preset::Paper,
            PresetArg::LiteFast => Preset::LiteFast,
        };
        match arch {
            ArchArg::Pose2im => ArchConfig::pose2im(preset),
            ArchArg::Posewarp => ArchConfig::posewarp(preset),
        }
    }
}

/// Joint training's learning rate (the paper's); personalization's is 3x that.
const PRETRAIN_LR: f64 = 2e-4;
/// Joint training's rate for the paper's Posewarp: it trains at 1e-4 (4000 steps on 24
/// people, twice on an H100) and collapses at 5e-4, bounded masks or not (docs/RESULTS.md);
/// 2e-4 is untried past 386 steps.
const PAPER_POSEWARP_PRETRAIN_LR: f64 = 1e-4;

/// Where joint training and meta-training start.
#[derive(clap::Args, Debug)]
pub struct StartArgs {
    /// Train this checkpoint further: a file, or a built-in init (metapix, posewarp,
    /// posewarp-fast, avatar). Default: random weights of --arch and --preset.
    #[arg(long)]
    init: Option<String>,
    /// The generator's size (default lite). With --init, the checkpoint's weights are
    /// trained in this shape of --arch: the layers it lacks start fresh.
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// The generator of random weights.
    #[arg(long, value_enum, default_value_t = ArchArg::Pose2im)]
    arch: ArchArg,
}

impl StartArgs {
    /// `--init` (in `--preset`'s shape if given) or random weights of `--arch` at `--preset`.
    fn init(&self) -> Init {
        let random = Init::Random(self.preset.unwrap_or(PresetArg::Lite).arch(self.arch));
        let Some(name) = self.init.as_deref() else {
            return random;
        };
        let reshaped = |stored| match self.preset {
            Some(preset) => Init::Reshaped(stored, preset.arch(self.arch)),
            None => Init::from(stored),
        };
        match Init::named(name, PresetArg::Lite.arch(self.arch)) {
            Init::Checkpoint(path) => reshaped(Stored::File(path)),
            Init::Builtin(builtin) => reshaped(Stored::Builtin(builtin)),
            _ => random,
        }
    }

    /// Joint training's default rate for the shape it trains.
    fn pretrain_lr(&self) -> f64 {
        match (self.arch, self.preset) {
            (ArchArg::Posewarp, Some(PresetArg::Paper)) => PAPER_POSEWARP_PRETRAIN_LR,
            _ => PRETRAIN_LR,
        }
    }
}

/// Where the people come from.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// Prepared targets, or folders of them (metapix synth --prepared writes one).
    #[arg(required = true)]
    data: Vec<PathBuf>,
    /// Frames taken from each person's pool (the first 85%), evenly spaced.
    #[arg(long, default_value_t = 60)]
    frames_per_identity: usize,
}

impl DataArgs {
    fn training_data(&self) -> anyhow::Result<TrainingData> {
        Ok(TrainingData {
            targets: dataset::expand(&self.data)?,
            frames_per_identity: self.frames_per_identity,
        })
    }
}

/// Optimizer settings shared by the commands.
#[derive(clap::Args, Debug)]
pub struct OptimArgs {
    /// Frames per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Adam learning rate (default: 6e-4, personalization's, for eval and meta-training's
    /// inner loop; 2e-4, the paper's, for pretrain, 1e-4 for pretrain's paper Posewarp).
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    device: DeviceArg,
    /// Add the paper's GAN and feature-matching terms (and train the discriminator).
    /// Personalization (personalize, eval) takes them for Posewarp and not for Pose2Im
    /// unless told (docs/RESULTS.md); pretrain and meta-train only with this.
    #[arg(long, conflicts_with = "l1")]
    gan: bool,
    /// L1 alone (with --ssim, SSIM too), for Posewarp's personalization as well.
    #[arg(long)]
    l1: bool,
    /// Also learn structure: add WEIGHT x (1 - SSIM) to the loss (L1 weighs 10).
    #[arg(long, value_name = "WEIGHT", default_value_t = 0.0)]
    ssim: f64,
    /// Posewarp on synthetic people: also teach its segmentation their exact body parts,
    /// adding WEIGHT x the cross-entropy of its layers against them (L1 weighs 10).
    #[arg(long, value_name = "WEIGHT", default_value_t = 0.0)]
    parts: f64,
    /// Seed of the random weights and of the order frames are drawn in: the same seed
    /// repeats a run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl OptimArgs {
    /// Personalization's loss: as the flags say, else each generator's own.
    fn loss(&self) -> Loss {
        match (self.gan, self.l1) {
            (true, _) => Loss::Gan,
            (_, true) => Loss::L1,
            _ => Loss::ByArch,
        }
    }

    /// A schedule of `steps` steps with these settings (the paper's constant-then-linear
    /// learning rate); without --lr, `default_lr`.
    fn schedule(&self, steps: usize, default_lr: f64) -> PersonalizeConfig {
        PersonalizeConfig {
            batch: self.batch,
            lr: self.lr.unwrap_or(default_lr),
            adversarial: self.gan,
            ssim_weight: self.ssim,
            part_weight: self.parts,
            seed: self.seed,
            ..PersonalizeConfig::default()
        }
        .with_steps(steps)
    }
}

/// `metapix personalize`.
#[derive(clap::Args, Debug)]
pub struct PersonalizeArgs {
    /// A folder written by metapix prepare.
    target: PathBuf,
    /// Frames to learn from (K).
    #[arg(long, default_value_t = 5)]
    shots: usize,
    /// Training steps (T).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Start from this checkpoint, `posewarp` (the built-in Posewarp init, the default),
    /// `posewarp-fast` (its fast shape: 2.5x the frame rate on a CPU, 0.2 dB less),
    /// `metapix` (the built-in meta-learned Pose2Im init, the default for --arch pose2im),
    /// `avatar` (the default avatar) or `random` (random weights of --arch and --preset).
    #[arg(long, value_name = "FILE|metapix|posewarp|posewarp-fast|avatar|random")]
    init: Option<String>,
    /// The generator, when no --init names one (default: posewarp, which wins the benchmark
    /// on real people; docs/RESULTS.md).
    #[arg(long, value_enum)]
    arch: Option<ArchArg>,
    /// Random weights of this preset instead of an init.
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    #[command(flatten)]
    optim: OptimArgs,
    /// The checkpoint to write.
    #[arg(long)]
    out: PathBuf,
}

impl PersonalizeArgs {
    pub fn run(&self) -> anyhow::Result<()> {
        let arch = self.arch.unwrap_or(ArchArg::Posewarp);
        let init = match (self.init.as_deref(), self.preset) {
            (Some("random"), None) => Init::Random(PresetArg::Lite.arch(arch)),
            (Some(_), _) if self.arch.is_some() => {
                bail!("--arch applies to --init random only (an init has its own)")
            }
            (Some(name), None) => Init::named(name, PresetArg::Lite.arch(arch)),
            (None | Some("random"), Some(preset)) => Init::Random(preset.arch(arch)),
            (None, None) => Init::named(
                match arch {
                    ArchArg::Pose2im => "metapix",
                    ArchArg::Posewarp => "posewarp",
                },
                PresetArg::Lite.arch(arch),
            ),
            (Some(_), Some(_)) => {
                bail!("--preset applies to --init random only (a checkpoint has its own)")
            }
        };
        // Personalization's learning rate (3x the paper's 2e-4: better at T 20,
        // docs/RESULTS.md) unless --lr says otherwise.
        let config = PersonalizeConfig {
            shots: self.shots,
            ..self
                .optim
                .schedule(self.steps, PersonalizeConfig::default().lr)
        };
        let job = PersonalizeJob {
            target: self.target.clone(),
            out: self.out.clone(),
            init,
            device: self.optim.device.into(),
            config,
            loss: self.optim.loss(),
        };
        let s = job.run()?;
        eprintln!(
            "wrote {}: {} steps on {} in {:.1} s; held-out ({} frames) L1 {:.4} -> {:.4}, PSNR {:.2} -> {:.2} dB",
            self.out.display(),
            s.steps,
            match s.shots.len() {
                1..=20 => format!("frames {:?}", s.shots),
                n => format!("{n} frames"),
            },
            s.seconds,
            s.test_frames,
            s.before.0,
            s.after.0,
            s.before.1,
            s.after.1
        );
        if s.kept_init {
            eprintln!(
                "warning: personalizing fell apart on the held-out frames ({:.2} dB worse than the init), so {} holds the init's weights; try fewer --steps or another --seed",
                s.before.1 - s.after.1,
                self.out.display()
            );
        }
        Ok(())
    }
}

/// `metapix pretrain`.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Training steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    #[command(flatten)]
    start: StartArgs,
    #[command(flatten)]
    optim: OptimArgs,
    /// Save --out every this many steps (and at the end, or on Ctrl-C).
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    #[arg(long)]
    out: PathBuf,
}

impl PretrainArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = PretrainJob {
            data: self.data.training_data()?,
            out: self.out.clone(),
            init: self.start.init(),
            config: self.optim.schedule(self.steps, self.start.pretrain_lr()),
            device: self.optim.device.into(),
            checkpoint_every: self.checkpoint_every,
        };
        let stop = cli::stop_on_signal()?;
        let s = job.run(
            &stop,
            &mut cli::progress("metapix pretrain", "steps", quiet),
        )?;
        let early = if s.steps < self.steps {
            " (stopped early)"
        } else {
            ""
        };
        eprintln!(
            "wrote {}: {} people, {} steps{early}, L1 {:.4} over the last 100",
            self.out.display(),
            job.data.targets.len(),
            s.steps,
            s.l1
        );
        Ok(())
    }
}

/// `metapix meta-train`.
#[derive(clap::Args, Debug)]
pub struct MetaTrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    start: StartArgs,
    /// Outer (Reptile) iterations.
    #[arg(long, default_value_t = 300)]
    meta_iterations: usize,
    /// Tasks (person + K frames) per outer update.
    #[arg(long, default_value_t = 4)]
    meta_batch: usize,
    /// Outer step size at the start, annealed linearly to 0.
    #[arg(long, default_value_t = 1.0)]
    eps: f64,
    /// Frames per task (K).
    #[arg(long, default_value_t = 5)]
    shots: usize,
    /// Inner steps per task (T).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    #[command(flatten)]
    optim: OptimArgs,
    /// Meta-learn personalization's learning rate per layer too (L1 inner loop only); the
    /// checkpoint carries them and personalization from it uses them.
    #[arg(long)]
    learn_rates: bool,
    /// Step on each log rate multiplier per iteration (with --learn-rates).
    #[arg(long, default_value_t = 0.05, requires = "learn_rates")]
    rates_lr: f64,
    /// Frames of each task's person its personalization is scored on (with --learn-rates).
    #[arg(long, default_value_t = 8, requires = "learn_rates",
          value_parser = clap::value_parser!(u64).range(1..))]
    query_frames: u64,
    /// Continue the run saved in --out.
    #[arg(long)]
    resume: bool,
    /// Save --out every this many iterations.
    #[arg(long, default_value_t = 50)]
    checkpoint_every: usize,
    #[arg(long)]
    out: PathBuf,
}

impl MetaTrainArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = MetaTrainJob {
            data: self.data.training_data()?,
            out: self.out.clone(),
            init: self.start.init(),
            config: ReptileConfig {
                meta_iterations: self.meta_iterations,
                meta_batch: self.meta_batch,
                eps: self.eps,
                inner: PersonalizeConfig {
                    shots: self.shots,
                    ..self
                        .optim
                        .schedule(self.steps, PersonalizeConfig::default().lr)
                },
            },
            learn_rates: self.learn_rates.then_some(RateLearning {
                lr: self.rates_lr,
                query_frames: self.query_frames as usize,
            }),
            device: self.optim.device.into(),
            resume: self.resume,
            checkpoint_every: self.checkpoint_every,
            seed: self.optim.seed,
        };
        let stop = cli::stop_on_signal()?;
        let progress = &mut cli::progress("metapix meta-train", "iterations", quiet);
        let done = job.run(&stop, progress)?;
        eprintln!(
            "wrote {} after {done} meta-iterations (loss log: {})",
            self.out.display(),
            job.log_path().display()
        );
        Ok(())
    }
}

/// `metapix eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Held-out prepared targets, or folders of them.
    #[arg(required = true)]
    data: Vec<PathBuf>,
    /// NAME=FILE, NAME=random (random lite weights), NAME=avatar or NAME=metapix (the
    /// built-in ones), NAME=nearest-shot (the baseline: copy the K frame whose pose is
    /// nearest) or NAME=part-warp (the nearest frame's limbs moved into the pose, nothing
    /// learned), repeated; the first is the one whose wins are counted.
    #[arg(long = "init", required = true, value_name = "NAME=FILE")]
    inits: Vec<String>,
    /// K values, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5")]
    shots: Vec<usize>,
    /// T values, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,10,20,50,100")]
    steps: Vec<usize>,
    /// Held-out frames scored per person at most.
    #[arg(long, default_value_t = 16)]
    test_frames: usize,
    /// Score the i-th target on every frame of this prepared target of the same person (say
    /// a still in another pose) instead of its own last 15%; once per target, in order.
    #[arg(long, value_name = "DIR")]
    test_on: Vec<PathBuf>,
    /// Also score pose fidelity: PCK@0.1 of the pose model on the generated frames against
    /// the driving skeletons (needs ONNX Runtime and the pose models).
    #[arg(long)]
    pck: bool,
    /// Folder with the ONNX pose models, for --pck (default: $METAPIX_MODELS, then the cache).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// ONNX Runtime library, for --pck (default: $ORT_DYLIB_PATH, then the cache).
    #[arg(long, value_name = "FILE")]
    onnxruntime: Option<PathBuf>,
    #[command(flatten)]
    optim: OptimArgs,
    /// Every figure as JSON. Records are also written cell by cell to the same path with
    /// .jsonl, from which a stopped run resumes.
    #[arg(long)]
    out: PathBuf,
    /// The Markdown table (default: --out with .md).
    #[arg(long)]
    table: Option<PathBuf>,
    /// Also write each cell's generated frames into this folder (one PNG per cell, the test
    /// frames side by side, and each person's real ones).
    #[arg(long, value_name = "DIR")]
    save_frames: Option<PathBuf>,
}

impl EvalArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let inits = self
            .inits
            .iter()
            .map(|spec| match spec.split_once('=') {
                Some((name, "nearest-shot")) if !name.is_empty() => {
                    Ok((name.to_string(), Method::NearestShot))
                }
                Some((name, "part-warp")) if !name.is_empty() => {
                    Ok((name.to_string(), Method::PartWarp))
                }
                Some((name, what)) if !name.is_empty() && !what.is_empty() => {
                    let init = Init::named(what, PresetArg::Lite.arch(ArchArg::Pose2im));
                    Ok((name.to_string(), Method::Personalize(init)))
                }
                _ => bail!("--init {spec}: use NAME=FILE"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.pck {
            metapix::pose::assets::onnx_environment(self.onnxruntime.as_deref())?;
        }
        let records_path = self.out.with_extension("jsonl");
        let job = EvalJob {
            targets: dataset::expand(&self.data)?,
            inits,
            shots: self.shots.clone(),
            steps: self.steps.clone(),
            config: self.optim.schedule(0, PersonalizeConfig::default().lr),
            loss: self.optim.loss(),
            test_frames: self.test_frames,
            device: self.optim.device.into(),
            test_on: self.test_on.clone(),
            pose: self.pck.then(|| PoseConfig {
                models_dir: self.models.clone(),
                ..PoseConfig::default()
            }),
            records: records_path.clone(),
            frames_dir: self.save_frames.clone(),
        };
        if let Some(dir) = &self.save_frames {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", dir.display()))?;
        }
        let stop = cli::stop_on_signal()?;
        let records = job.run(&stop, &mut cli::progress("metapix eval", "cells", quiet))?;
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!(
                "stopped: {} records in {}; the same command resumes",
                records.len(),
                records_path.display()
            );
            return Ok(());
        }
        let names: Vec<String> = job.inits.iter().map(|(n, _)| n.clone()).collect();
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| self.out.with_extension("md"));
        let stem = self.out.with_extension("");
        let written = eval::write_outputs(&records, &names, Some(&self.out), &table, &stem)?;
        report_written(&written);
        Ok(())
    }
}

/// Prints the table and what was written.
fn report_written(written: &eval::table::Written) {
    println!("{}", written.table);
    for path in &written.files {
        eprintln!("wrote {}", path.display());
    }
    if let Some(why) = &written.plots_failed {
        eprintln!("metapix: warning: no plots: {why}");
    }
}

/// `metapix report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// What `metapix eval` wrote: its --out JSON, or its .jsonl record file.
    results: PathBuf,
    /// Write STEM.md, STEM-t.png and STEM-k.png (default: the results file without its
    /// extension).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl ReportArgs {
    pub fn run(&self) -> anyhow::Result<()> {
        let records = records::read_records(&self.results)?;
        let names = eval::init_order(&records);
        let stem = self
            .out
            .clone()
            .unwrap_or_else(|| self.results.with_extension(""));
        let written =
            eval::write_outputs(&records, &names, None, &stem.with_extension("md"), &stem)?;
        report_written(&written);
        Ok(())
    }
}
