//! `lightlane`: analyse serial-link captures from the command line.

mod analyze_cmd;
mod analyze_stream;
mod demo;
mod fec_cmd;
mod info_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// High-speed serial-link and optical-interconnect analysis: clock phase, equalization,
/// BER/SER against the test pattern and FEC codeword statistics of scope captures.
#[derive(Parser, Debug)]
#[command(name = "lightlane", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse captures (the built-in demo capture when no path is given).
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Reed–Solomon KP4/KR4 encoding and decoding of raw symbol files.
    Fec(fec_cmd::FecArgs),
    /// Show what capture files hold (format, samples, sample rate, scale, segments, fields).
    Info(info_cmd::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Fec(args) => fec_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Info(args) => info_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
