//! Simulate a 26.5625 GBd PAM4 link through a 3-tap ISI channel and analyse it.
//!
//! `cargo run --release -p lightlane-examples --bin quickstart`

use lightlane::analysis::{analyze, AnalysisConfig};
use lightlane::sim::{Channel, LinkModel, Noise};
use lightlane::{pattern::Pattern, Backend, Modulation};

fn main() -> Result<(), lightlane::Error> {
    let baud = 26.5625e9;
    let mut model = LinkModel::new(Modulation::Pam4, baud, 100e9)?;
    model.channel = Channel::SymbolFir { taps: vec![1.0, 0.55, 0.25], main: 0 };
    model.noise = Noise::SnrDb(28.0);
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, 8 * 8191)?;
    let capture = model.run(&symbols)?;
    let report = analyze(&capture.waveform, &AnalysisConfig::pam4(baud), Backend::Auto)?;
    println!("pre-EQ SER {:.3e}, after FFE: BER {:.3e} ({} errors in {} bits)", report.stages[0].ser, report.ber, report.bit_errors, report.bits);
    println!("FFE taps: {:?}", report.ffe_taps);
    Ok(())
}
