//! The `lightlane` command-line tool.

mod fec_cmd;
mod info_cmd;

use clap::{Parser, Subcommand};

/// Signal processing for high-speed serial links: FEC, equalization, eye metrics.
#[derive(Parser, Debug)]
#[command(name = "lightlane", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reed–Solomon KP4/KR4 encoding and decoding of raw symbol files.
    Fec(fec_cmd::FecArgs),
    /// Show what capture files hold (format, samples, sample rate, scale, segments, fields).
    Info(info_cmd::InfoArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Fec(args) => fec_cmd::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
