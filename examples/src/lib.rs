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
