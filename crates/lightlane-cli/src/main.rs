//! The `lightlane` command line (minimal wiring for `info`; the lead owns the full CLI).

mod info_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "lightlane", version, about = "Serial-link and optical-interconnect signal analysis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what capture files hold.
    Info(info_cmd::InfoArgs),
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    match Cli::parse().command {
        Command::Info(a) => info_cmd::run(&a),
    }
}
