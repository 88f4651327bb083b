//! `metapix`: the offline commands (pose extraction, synthetic people, later training).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use metapix::cli;
use metapix::jobs::pose::PoseJob;

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
    })
}
