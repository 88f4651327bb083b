//! `metapix`: the offline commands (pose extraction, synthetic people, preparation,
//! personalization, learning initializations, the benchmark).

mod training;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
#[path = "../common/mod.rs"]
mod cli;
use metapix::jobs::personalize::{Init, PersonalizeJob};
use metapix::jobs::pose::PoseJob;
use metapix::jobs::prepare::PrepareJob;
use metapix::jobs::synth::SynthJob;
use metapix::model::DeviceChoice;
use metapix::train::PersonalizeConfig;

#[derive(Parser, Debug)]
#[command(version, about = "metapix: few-shot human motion retargeting", long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// No progress on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The paper's baseline init: one generator trained jointly on many people.
    Pretrain(training::PretrainArgs),
    /// A MetaPix init: Reptile over personalization tasks across many people.
    MetaTrain(training::MetaTrainArgs),
    /// The retargeting benchmark: personalize each init on held-out people, score the
    /// held-out frames (JSON and a Markdown table).
    Eval(training::EvalArgs),
    /// The Markdown table and PNG plots (quality against T and against K) of `metapix eval`
    /// results, from its JSON.
    Report(training::ReportArgs),
    /// Skeletons per frame of a video (or one image) as JSON lines.
    Pose {
        /// A video file, or a .png/.jpg image.
        input: String,
        /// The JSON-lines file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        pose: cli::PoseArgs,
    },
    /// A video or folder of images of one person -> cropped frames, skeletons, statistics.
    Prepare {
        /// A video file, or a folder of .png/.jpg images.
        target: PathBuf,
        /// Folder to write (frames/, poses.jsonl, target.json).
        #[arg(long)]
        out: PathBuf,
        /// Side of the square frames.
        #[arg(long, default_value_t = 256)]
        size: u32,
        #[command(flatten)]
        pose: cli::PoseArgs,
    },
    /// Few-shot personalization of the generator on a prepared target.
    Personalize {
        /// A folder written by metapix prepare.
        target: PathBuf,
        /// Frames to learn from (K).
        #[arg(long, default_value_t = 5)]
        shots: usize,
        /// Training steps (T).
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Start from this checkpoint, `avatar` (the default avatar) or `random` (default: the
        /// built-in meta-learned init).
        #[arg(long, value_name = "FILE|avatar|random")]
        init: Option<String>,
        /// Random weights of this preset (lite or paper) instead of an init.
        #[arg(long)]
        preset: Option<String>,
        /// Adam learning rate (3x the paper's 2e-4: better at T 20, docs/RESULTS.md).
        #[arg(long, default_value_t = PersonalizeConfig::default().lr)]
        lr: f64,
        /// Frames per step (drawn from the K shots).
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// Add the paper's GAN and feature-matching terms to L1 (worse at K 5, T 20 in
        /// docs/RESULTS.md).
        #[arg(long)]
        gan: bool,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
        /// The checkpoint to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Videos of synthetic people with their exact skeletons (identity-NNN.mp4 and
    /// identity-NNN.poses.jsonl).
    Synth {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// How many people.
        #[arg(long, default_value_t = 1)]
        identities: u32,
        /// Length of each dance.
        #[arg(long, default_value_t = 8.0)]
        seconds: f64,
        /// Dances each person performs one after the other.
        #[arg(long, default_value_t = 1)]
        dances: u32,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Frame size, WIDTHxHEIGHT.
        #[arg(long, default_value = "512x512", value_parser = parse_size)]
        size: (u32, u32),
        /// Seed of the people and their dances; 0 starts with the demo's dancer.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write prepared targets (identity-NNN/, as metapix prepare writes, with the exact
        /// skeletons) instead of videos; square frames of the smaller side of --size.
        #[arg(long)]
        prepared: bool,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run("metapix", || match &args.command {
        Command::Pretrain(a) => a.run(args.quiet),
        Command::MetaTrain(a) => a.run(args.quiet),
        Command::Eval(a) => a.run(args.quiet),
        Command::Report(a) => a.run(),
        Command::Pose { input, out, pose } => {
            let job = PoseJob::new(input, out, pose.config()?)?;
            let stop = cli::stop_on_signal()?;
            let summary = job.run(stop, &mut cli::progress("metapix pose", args.quiet))?;
            eprintln!(
                "wrote {} ({} frames, a person in {})",
                out.display(),
                summary.frames,
                summary.frames_with_person
            );
            Ok(())
        }
        Command::Prepare {
            target,
            out,
            size,
            pose,
        } => {
            let job = PrepareJob::new(target, out, *size, pose.config()?)?;
            let stop = cli::stop_on_signal()?;
            let info = job.run(stop, &mut cli::progress("metapix prepare", args.quiet))?;
            eprintln!(
                "prepared {}: {} frames ({} with the person) at {}x{}",
                out.display(),
                info.frames,
                info.frames_with_person,
                info.size,
                info.size
            );
            Ok(())
        }
        Command::Personalize {
            target,
            shots,
            steps,
            init,
            preset,
            lr,
            batch,
            gan,
            device,
            out,
        } => {
            let config = PersonalizeConfig {
                shots: *shots,
                steps: *steps,
                lr: *lr,
                batch: *batch,
                adversarial: *gan,
                constant_steps: steps / 2,
                ..PersonalizeConfig::default()
            };
            let job = PersonalizeJob {
                target: target.clone(),
                out: out.clone(),
                init: Init::from_args(init.as_deref(), preset.as_deref())?,
                device: *device,
                config,
            };
            let s = job.run()?;
            eprintln!(
                "wrote {}: {} steps on {} in {:.1} s; held-out ({} frames) L1 {:.4} -> {:.4}, PSNR {:.2} -> {:.2} dB",
                out.display(),
                steps,
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
            Ok(())
        }
        Command::Synth {
            out,
            identities,
            seconds,
            fps,
            size,
            seed,
            dances,
            prepared,
        } => {
            let job = SynthJob::new(out, *identities, *seconds, *fps, *size, *seed)?
                .with_dances(*dances)?
                .prepared(*prepared);
            let stop = cli::stop_on_signal()?;
            let written = job.run(stop, &mut cli::progress("metapix synth", args.quiet))?;
            for path in written {
                let what = if *prepared { "" } else { " and its skeletons" };
                eprintln!("wrote {}{what}", path.display());
            }
            Ok(())
        }
    })
}

/// Parses `WIDTHxHEIGHT`.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text}: expected WIDTHxHEIGHT, e.g. 512x512"))?;
    let side = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text}: expected WIDTHxHEIGHT"))
    };
    Ok((side(w)?, side(h)?))
}
