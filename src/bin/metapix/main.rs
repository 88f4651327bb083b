//! `metapix`: the offline commands (pose extraction, synthetic people, preparation,
//! personalization, learning initializations, the benchmark). Each subcommand is a flag
//! struct with a `run` that builds its job, runs it and reports.

#[path = "../common/mod.rs"]
mod cli;
mod footage;
mod serve;
mod training;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// results, from its JSON or its record file.
    Report(training::ReportArgs),
    /// Skeletons per frame of a video (or one image) as JSON lines.
    Pose(footage::PoseArgs),
    /// A video or folder of images of one person -> cropped frames, skeletons, statistics.
    Prepare(footage::PrepareArgs),
    /// Few-shot personalization of the generator on a prepared target.
    Personalize(training::PersonalizeArgs),
    /// Videos of synthetic people with their exact skeletons (identity-NNN.mp4 and
    /// identity-NNN.poses.jsonl).
    Synth(footage::SynthArgs),
    /// Many live streams in one process, each with its own input, output and person (a
    /// TOML file of [[stream]] tables); one that fails or ends leaves the others running.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let quiet = args.quiet;
    cli::run("metapix", || match &args.command {
        Command::Pretrain(a) => a.run(quiet),
        Command::MetaTrain(a) => a.run(quiet),
        Command::Eval(a) => a.run(quiet),
        Command::Report(a) => a.run(),
        Command::Pose(a) => a.run(quiet),
        Command::Prepare(a) => a.run(quiet),
        Command::Personalize(a) => a.run(),
        Command::Synth(a) => a.run(quiet),
        Command::Serve(a) => a.run(),
    })
}
