//! `lightlane`: analyse serial-link captures from the command line.

mod analyze_cmd;
mod analyze_stream;
mod batch;
mod demo;
mod fec_cmd;
mod html;
mod info_cmd;
mod settings;
mod summary;
mod simulate_cmd;

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
    /// Analyse captures and folders of captures (the demo campaign when no path is given).
    /// Exit status: 0 all analysed, 2 some captures failed, 1 fatal error.
    Analyze(Box<analyze_cmd::AnalyzeArgs>),
    /// Reed–Solomon KP4/KR4 encoding and decoding of raw symbol files.
    Fec(fec_cmd::FecArgs),
    /// Show what capture files hold (format, samples, sample rate, scale, segments, fields).
    Info(info_cmd::InfoArgs),
    /// Simulate an optical IM/DD link described in TOML and write the capture.
    Simulate(simulate_cmd::SimulateArgs),
}

fn main() -> ExitCode {
    // Usage errors are fatal errors: exit 1 (help and --version exit 0).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let result = match &cli.command {
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Fec(args) => fec_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Info(args) => info_cmd::run(args),
        Command::Simulate(args) => simulate_cmd::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
