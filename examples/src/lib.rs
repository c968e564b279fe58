//! Shared code of the runnable examples.

use lightlane::sim::LinkModel;
use lightlane::waveform::RawCodes;
use lightlane::{pattern::Pattern, Modulation, Waveform};

/// The demo capture shipped in `testdata/`: 53.125 GBd PAM4, PRBS13Q (4 periods), sampled at
/// 256 GSa/s by `LinkModel::demo_pam4()`, quantised to i16 codes (about 12 bits used), with
/// baud/modulation/pattern hints for the sidecar.
pub fn demo_capture() -> Result<Waveform, lightlane::Error> {
    let model = LinkModel::demo_pam4();
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, 4 * 8191)?;
    let mut wf = model.run(&symbols)?.waveform;
    let peak = wf.samples.iter().fold(0f32, |a, &v| a.max(v.abs())) as f64;
    // Round the gain so the sidecar's text form is exact.
    let gain = format!("{:.6e}", peak / 2000.0).parse::<f64>().expect("float text");
    let codes: Vec<i16> = wf.samples.iter().map(|&v| (v as f64 / gain).round() as i16).collect();
    wf.samples = codes.iter().map(|&c| (c as f64 * gain) as f32).collect();
    wf.raw = Some(RawCodes::I16 { codes, gain, offset: 0.0 });
    wf.meta.channel = Some("C1".into());
    wf.meta.extra.insert("baud".into(), format!("{:e}", model.baud));
    wf.meta.extra.insert("modulation".into(), "pam4".into());
    wf.meta.extra.insert("pattern".into(), "prbs13q".into());
    Ok(wf)
}

/// Quantises `wf` to i16 codes spanning about ±2000 codes (12 bits used), like a scope's ADC.
fn quantise_i16(wf: &mut Waveform) {
    let peak = wf.samples.iter().fold(0f32, |a, &v| a.max(v.abs())) as f64;
    let gain = format!("{:.6e}", peak.max(1e-9) / 2000.0).parse::<f64>().expect("float text");
    let codes: Vec<i16> = wf.samples.iter().map(|&v| (v as f64 / gain).round() as i16).collect();
    wf.samples = codes.iter().map(|&c| (c as f64 * gain) as f32).collect();
    wf.raw = Some(RawCodes::I16 { codes, gain, offset: 0.0 });
}

fn pam4_capture(model: &LinkModel, periods: usize) -> Result<Waveform, lightlane::Error> {
    let symbols = Pattern::parse("prbs13q")?.generate(Modulation::Pam4, periods * 8191)?;
    let mut wf = model.run(&symbols)?.waveform;
    wf.meta.channel = Some("C1".into());
    Ok(wf)
}

/// The demo campaign of `lightlane analyze` (testdata/campaign): five captures of simulated
/// lanes in different vendor formats and conditions, and one deliberately truncated file.
/// Returns the file names written into `dir` (sidecars included).
///
/// | file | format | link |
/// |---|---|---|
/// | `lane0_nominal.bin` | Keysight AG10 (f32) | `LinkModel::demo_pam4()` jitter and rate with mild ISI (`[0.05, 1, 0.3, 0.1]`, Bessel-Thomson 0.5 × baud), SNR 28 dB, PRBS13Q, 2 periods |
/// | `lane1_noisy.trc` | LeCroy LECROY_2_3 (i16) | same, SNR 16.5 dB (fails the 2.4e-4 KP4 limit) |
/// | `lane2_long_channel.mat` | MATLAB level 5 (`fs`, `x`), compressed | more ISI: `[0.1, 1, 0.45, 0.2, 0.05]`, Bessel-Thomson 0.4 × baud |
/// | `lane3_nrz.i16` + `.json` | raw i16 + sidecar with baud/modulation/pattern hints | `LinkModel::demo_nrz()`, PRBS31, 40 000 UI |
/// | `lane4_low_swing.f32` + `.json` | raw f32 + sidecar | demo PAM4 at 0.25 of the amplitude, SNR 24 dB |
/// | `lane5_corrupt.bin` | Keysight AG10 cut at 60 % | must be listed as failed, the rest complete |
pub fn write_campaign(dir: &std::path::Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    use lightlane::sim::{Channel, Noise};
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    // Mild ISI (open raw eye) so the edge-based reference CDR locks on every lane.
    let mut base = LinkModel::demo_pam4();
    base.channel = Channel::Cascade(vec![
        Channel::SymbolFir { taps: vec![0.05, 1.0, 0.3, 0.1], main: 1 },
        Channel::BesselThomson { f3db_hz: 0.5 * base.baud, order: 4 },
    ]);
    base.noise = Noise::SnrDb(28.0);

    let mut m0 = base.clone();
    m0.seed = 0x5eed_0101;
    let wf0 = pam4_capture(&m0, 2)?;
    lightlane::io::keysight::write(&dir.join("lane0_nominal.bin"), std::slice::from_ref(&wf0))?;
    names.push("lane0_nominal.bin".to_string());

    let mut m1 = base.clone();
    m1.seed = 0x5eed_0102;
    m1.noise = Noise::SnrDb(16.5);
    let mut wf1 = pam4_capture(&m1, 2)?;
    quantise_i16(&mut wf1);
    lightlane::io::lecroy::write(&dir.join("lane1_noisy.trc"), std::slice::from_ref(&wf1))?;
    names.push("lane1_noisy.trc".to_string());

    let mut m2 = base.clone();
    m2.seed = 0x5eed_0103;
    m2.channel = Channel::Cascade(vec![
        Channel::SymbolFir { taps: vec![0.1, 1.0, 0.45, 0.2, 0.05], main: 1 },
        Channel::BesselThomson { f3db_hz: 0.4 * base.baud, order: 4 },
    ]);
    let wf2 = pam4_capture(&m2, 1)?;
    let x: Vec<f64> = wf2.samples.iter().map(|&v| v as f64).collect();
    lightlane::io::mat::write(&dir.join("lane2_long_channel.mat"), &[("fs", &[wf2.fs()]), ("x", &x)], true)?;
    names.push("lane2_long_channel.mat".to_string());

    let mut m3 = LinkModel::demo_nrz();
    m3.seed = 0x5eed_0104;
    let prbs31 = Pattern::parse("prbs31")?.generate(Modulation::Nrz, 40_000)?;
    let mut wf3 = m3.run(&prbs31)?.waveform;
    quantise_i16(&mut wf3);
    wf3.meta.channel = Some("C2".into());
    wf3.meta.extra.insert("baud".into(), format!("{:e}", m3.baud));
    wf3.meta.extra.insert("modulation".into(), "nrz".into());
    wf3.meta.extra.insert("pattern".into(), "prbs31".into());
    lightlane::io::raw::write(&dir.join("lane3_nrz.i16"), &wf3)?;
    names.extend(["lane3_nrz.i16".to_string(), "lane3_nrz.json".to_string()]);

    let mut m4 = base.clone();
    m4.seed = 0x5eed_0105;
    m4.amplitude *= 0.25;
    m4.noise = Noise::SnrDb(24.0);
    let mut wf4 = pam4_capture(&m4, 1)?;
    wf4.meta.extra.insert("baud".into(), format!("{:e}", m4.baud));
    wf4.meta.extra.insert("modulation".into(), "pam4".into());
    wf4.meta.extra.insert("pattern".into(), "prbs13q".into());
    lightlane::io::raw::write(&dir.join("lane4_low_swing.f32"), &wf4)?;
    names.extend(["lane4_low_swing.f32".to_string(), "lane4_low_swing.json".to_string()]);

    let full = std::fs::read(dir.join("lane0_nominal.bin"))?;
    std::fs::write(dir.join("lane5_corrupt.bin"), &full[..full.len() * 3 / 5])?;
    names.push("lane5_corrupt.bin".to_string());
    Ok(names)
}
