//! The commands that learn initializations and measure them: pretrain, meta-train, eval.

use std::path::{Path, PathBuf};

use crate::cli;
use metapix::jobs::dataset;
use metapix::jobs::eval::{self, plot, EvalJob};
use metapix::jobs::init_training::{MetaTrainJob, PretrainJob, RateLearning, TrainingData};
use metapix::jobs::personalize::Init;
use metapix::jobs::JobError;
use metapix::model::DeviceChoice;
use metapix::pose::PoseConfig;
use metapix::train::reptile::ReptileConfig;
use metapix::train::PersonalizeConfig;

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

/// Joint training's learning rate (the paper's); personalization's is 3x that.
const PRETRAIN_LR: f64 = 2e-4;

/// `--init FILE` or random weights of `--preset`.
fn init_or_random(init: &Option<PathBuf>, preset: &str) -> Init {
    match init {
        Some(path) => Init::Checkpoint(path.clone()),
        None => Init::Random(preset.to_string()),
    }
}

impl OptimArgs {
    /// A schedule of `steps` steps with these settings (the paper's constant-then-linear
    /// learning rate); without --lr, personalization's (eval, meta-train's inner loop) or
    /// joint training's `default_lr`.
    fn schedule(&self, steps: usize, default_lr: f64) -> PersonalizeConfig {
        PersonalizeConfig {
            steps,
            constant_steps: steps / 2,
            batch: self.batch,
            lr: self.lr.unwrap_or(default_lr),
            adversarial: self.gan,
            ..PersonalizeConfig::default()
        }
    }
}

impl DataArgs {
    fn training_data(&self) -> Result<TrainingData, JobError> {
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
    /// inner loop; 2e-4, the paper's, for pretrain).
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Add the paper's GAN and feature-matching terms (and train the discriminator); without
    /// it L1 alone, which personalizes better at K 5, T 20 (docs/RESULTS.md).
    #[arg(long)]
    gan: bool,
}

/// `metapix pretrain`.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Training steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Train this checkpoint further (default: random weights of --preset).
    #[arg(long)]
    init: Option<PathBuf>,
    #[arg(long, default_value = "lite")]
    preset: String,
    #[command(flatten)]
    optim: OptimArgs,
    #[arg(long)]
    out: PathBuf,
}

impl PretrainArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let job = PretrainJob {
            data: self.data.training_data()?,
            out: self.out.clone(),
            init: init_or_random(&self.init, &self.preset),
            config: self.optim.schedule(self.steps, PRETRAIN_LR),
            device: self.optim.device,
        };
        let l1 = job.run(&mut cli::progress("metapix pretrain", quiet))?;
        eprintln!(
            "wrote {}: {} people, {} steps, L1 {l1:.4} over the last 100",
            self.out.display(),
            job.data.targets.len(),
            self.steps
        );
        Ok(())
    }
}

/// `metapix meta-train`.
#[derive(clap::Args, Debug)]
pub struct MetaTrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Start from this checkpoint (usually a pretrained one; default: random --preset).
    #[arg(long)]
    init: Option<PathBuf>,
    #[arg(long, default_value = "lite")]
    preset: String,
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
    #[arg(long, default_value_t = 8, requires = "learn_rates")]
    query_frames: usize,
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
            init: init_or_random(&self.init, &self.preset),
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
                query_frames: self.query_frames.max(1),
            }),
            device: self.optim.device,
            resume: self.resume,
            checkpoint_every: self.checkpoint_every,
            seed: 0,
        };
        let stop = cli::stop_on_signal()?;
        let done = job.run(&stop, &mut cli::progress("metapix meta-train", quiet))?;
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
    /// NAME=FILE, NAME=random, NAME=avatar or NAME=metapix (the built-in ones), repeated;
    /// the first is the one whose wins are counted.
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
    /// Every figure as JSON.
    #[arg(long)]
    out: PathBuf,
    /// The Markdown table (default: --out with .md).
    #[arg(long)]
    table: Option<PathBuf>,
}

impl EvalArgs {
    pub fn run(&self, quiet: bool) -> anyhow::Result<()> {
        let inits = self
            .inits
            .iter()
            .map(|spec| {
                let (name, what) = spec.split_once('=').ok_or_else(|| {
                    JobError::InvalidArgument(format!("--init {spec}: use NAME=FILE"))
                })?;
                let init = Init::from_args(Some(what), None)?;
                Ok((name.to_string(), init))
            })
            .collect::<Result<Vec<_>, JobError>>()?;
        let job = EvalJob {
            targets: dataset::expand(&self.data)?,
            inits,
            shots: self.shots.clone(),
            steps: self.steps.clone(),
            config: self.optim.schedule(0, PersonalizeConfig::default().lr),
            test_frames: self.test_frames,
            device: self.optim.device,
            test_on: self.test_on.clone(),
            pose: self.pck.then(|| PoseConfig {
                models_dir: self.models.clone(),
                ..PoseConfig::default()
            }),
        };
        if self.pck {
            metapix::pose::assets::onnx_environment(self.onnxruntime.as_deref())?;
        }
        let records = job.run(&mut cli::progress("metapix eval", quiet))?;
        let names: Vec<String> = job.inits.iter().map(|(n, _)| n.clone()).collect();
        let json = serde_json::to_vec_pretty(&records)?;
        metapix::base::fsutil::write_atomic(&self.out, &json)?;
        eprintln!("wrote {}", self.out.display());
        let table_path = self
            .table
            .clone()
            .unwrap_or_else(|| self.out.with_extension("md"));
        write_table(&records, &names, &table_path)?;
        // The figures are safe on disk: a missing font costs the plots, not the run.
        match plot::write_plots(&records, &names, &self.out.with_extension("")) {
            Ok(paths) => paths
                .iter()
                .for_each(|p| eprintln!("wrote {}", p.display())),
            Err(e) => eprintln!("metapix: warning: no plots: {e}"),
        }
        Ok(())
    }
}

/// Writes the Markdown table of `records` to `path` and prints it.
fn write_table(records: &[eval::EvalRecord], names: &[String], path: &Path) -> anyhow::Result<()> {
    let table = eval::markdown(records, names);
    metapix::base::fsutil::write_atomic(path, table.as_bytes())?;
    println!("{table}");
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// `metapix report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// A JSON file `metapix eval --out` wrote.
    results: PathBuf,
    /// Write STEM.md, STEM-t.png and STEM-k.png (default: the results file without its
    /// extension).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl ReportArgs {
    pub fn run(&self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.results).map_err(|e| {
            JobError::InvalidArgument(format!("cannot read {}: {e}", self.results.display()))
        })?;
        let records: Vec<eval::EvalRecord> = serde_json::from_slice(&bytes).map_err(|e| {
            JobError::InvalidArgument(format!(
                "{} is not metapix eval output: {e}",
                self.results.display()
            ))
        })?;
        let mut names: Vec<String> = Vec::new();
        for r in &records {
            if !names.contains(&r.init) {
                names.push(r.init.clone());
            }
        }
        let stem = self
            .out
            .clone()
            .unwrap_or_else(|| self.results.with_extension(""));
        write_table(&records, &names, &stem.with_extension("md"))?;
        for path in plot::write_plots(&records, &names, &stem)? {
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    }
}
