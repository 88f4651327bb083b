//! `metapix`: the offline commands (pose extraction, synthetic people, later training).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use metapix::cli;
use metapix::jobs::pose::PoseJob;
use metapix::jobs::synth::SynthJob;

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
    /// Videos of synthetic people with their exact skeletons (identity-NNN.mp4 and
    /// identity-NNN.poses.jsonl).
    Synth {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// How many people.
        #[arg(long, default_value_t = 1)]
        identities: u32,
        /// Length of each video.
        #[arg(long, default_value_t = 8.0)]
        seconds: f64,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Frame size, WIDTHxHEIGHT.
        #[arg(long, default_value = "512x512", value_parser = cli::parse_size)]
        size: (u32, u32),
        /// Seed of the people and their dances; 0 starts with the demo's dancer.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run("metapix", || match &args.command {
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
        Command::Synth {
            out,
            identities,
            seconds,
            fps,
            size,
            seed,
        } => {
            let job = SynthJob::new(out, *identities, *seconds, *fps, *size, *seed)?;
            let stop = cli::stop_on_signal()?;
            let videos = job.run(stop, &mut cli::progress("metapix synth", args.quiet))?;
            for v in videos {
                eprintln!("wrote {} and its skeletons", v.display());
            }
            Ok(())
        }
    })
}
