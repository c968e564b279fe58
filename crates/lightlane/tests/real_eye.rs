//! Eye diagrams and metrics on the real captures of ../shared/captures (skipped with a printed
//! reason when absent): the 10GBASE-R NRZ link (LeCroy SDA 816Zi, 40 GS/s, 10.3125 GBd, raw
//! float32 volts) on its recovered clock, and the 50 GBd PAM4 IM/DD experiment (2 samples per
//! symbol, time-aligned, known symbols). Checks that the numbers are sane and identical from run
//! to run. Set LIGHTLANE_EYE_PNG_DIR to also write the pictures there for a look.

use lightlane::eye::{
    ber_contours, eye_metrics, eye_report, eye_signal_from_waveform, horizontal_bathtubs, render_bathtub_png, render_eye_png,
    vertical_bathtubs, EyeAnalysisConfig, EyeConfig, EyeDiagram, EyeMetricsConfig, EyeSignal,
};
use lightlane::io::mat::read_arrays;
use lightlane::io::Input;
use lightlane::modulation::gray_encode;
use lightlane::timing::{resample_at, CdrConfig};
use lightlane::{Modulation, Waveform};

use lightlane_testdata::{capture, NRZ_10GBASE_R, PAM4_PON_RXONLY};

fn write_pngs(name: &str, sig: &EyeSignal, eye: &EyeDiagram) {
    let Ok(dir) = std::env::var("LIGHTLANE_EYE_PNG_DIR") else { return };
    let cfg = EyeMetricsConfig::default();
    let m = eye_metrics(sig, eye, &cfg).unwrap();
    let png = render_eye_png(eye, &ber_contours(eye, cfg.target_ber)).unwrap();
    std::fs::write(format!("{dir}/{name}_eye.png"), png).unwrap();
    let h = horizontal_bathtubs(&m, sig.symbols(), 101);
    let v = vertical_bathtubs(sig, eye, &cfg, 101);
    std::fs::write(format!("{dir}/{name}_bathtub.png"), render_bathtub_png(&h, &v, &sig.unit, 1e-12).unwrap()).unwrap();
}

#[test]
fn nrz_10gbase_r_eye_is_sane_and_stable() {
    let Some(path) = capture(NRZ_10GBASE_R) else { return };
    let bytes = std::fs::read(&path).unwrap();
    let samples: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let wf = Waveform::new(samples, 40e9).unwrap();
    let run = || {
        let sig = eye_signal_from_waveform(&wf, 10.3125e9, Modulation::Nrz, 32, &CdrConfig::default()).unwrap();
        let eye = EyeDiagram::build(&sig, Modulation::Nrz, &EyeConfig::default()).unwrap();
        let m = eye_metrics(&sig, &eye, &EyeMetricsConfig::default()).unwrap();
        (sig, eye, m)
    };
    let (sig, eye, m) = run();
    println!("10GBASE-R: levels {:?} σ {:?} EH {:?} (measured {:?}) EW {:?} (measured {:?}) SNDR {:?} dB, warnings {:?}",
        m.levels, m.level_sigma, m.eye_heights, m.eye_heights_measured, m.eye_widths, m.eye_widths_measured, m.sndr_db, m.warnings);
    // The manifest's 5th/95th percentile levels are −81.5 and +79.4 mV.
    assert!(m.levels[0] < -0.05 && m.levels[0] > -0.12, "{:?}", m.levels);
    assert!(m.levels[1] > 0.05 && m.levels[1] < 0.12, "{:?}", m.levels);
    // An open link eye: positive measured height, a width between 0.3 and 1 UI.
    assert!(m.eye_heights_measured[0] > 0.02, "{:?}", m.eye_heights_measured);
    let ew = m.eye_widths_measured[0].unwrap();
    assert!(ew > 0.3 && ew < 1.0, "{ew}");
    assert!(m.sndr_db.unwrap() > 10.0 && m.sndr_db.unwrap() < 40.0);
    assert!(eye.histogram.total() > 1_000_000);
    let (_, eye2, m2) = run();
    assert_eq!(eye.histogram.counts(), eye2.histogram.counts());
    assert_eq!(m, m2);
    write_pngs("10gbase_r", &sig, &eye);
}

#[test]
fn pam4_pon_eye_and_tdecq_are_sane_and_stable() {
    let Some(path) = capture(PAM4_PON_RXONLY) else { return };
    let arrays = read_arrays(&Input::open(&path).unwrap()).unwrap();
    let get = |name: &str| arrays.iter().find(|a| a.name == name).unwrap().real.clone();
    let (data_in, rx) = (get("dataIn"), get("rxSamples"));
    let symbols: Vec<u8> = data_in.iter().map(|&v| gray_encode((v as u8) >> 1, v as u8 & 1)).collect();
    let rx: Vec<f32> = rx.iter().map(|&v| v as f32).collect();
    // 2 samples per symbol, sample 2k at symbol k: cubic resampling to 16 per UI.
    let positions: Vec<f64> = (0..symbols.len()).map(|k| 2.0 * k as f64).collect();
    let up = resample_at(&rx, &positions, 16);
    let mut sig = EyeSignal::from_centred(&up, 16).unwrap();
    sig.unit = "a.u.".into();
    let cfg = EyeAnalysisConfig::default();
    let r = eye_report(&sig, None, Some(&symbols[1..]), Modulation::Pam4, None, &cfg).unwrap();
    println!(
        "PON PAM4: levels {:?} RLM {:?} EH {:?} SNDR {:?} TDECQ {:?} taps {:?} warnings {:?}",
        r.levels, r.rlm, r.eye_heights, r.sndr_db, r.tdecq_db, r.tdecq_taps, r.warnings
    );
    assert_eq!(r.levels.len(), 4);
    let rlm = r.rlm.unwrap();
    assert!(rlm > 0.5 && rlm <= 1.05, "{rlm}");
    // The raw received eye of this −18.5 dBm experiment is nearly closed (BER ≈ 3e-2 after a
    // plain FFE), so SNDR is low and TDECQ large but finite.
    let sndr = r.sndr_db.unwrap();
    assert!(sndr > 3.0 && sndr < 25.0, "{sndr}");
    if let Some(t) = r.tdecq_db {
        assert!(t > 1.0 && t < 30.0, "{t}");
    }
    let js = format!("{r:?}");
    assert!(!js.contains("NaN"));
    let r2 = eye_report(&sig, None, Some(&symbols[1..]), Modulation::Pam4, None, &cfg).unwrap();
    assert_eq!(js, format!("{r2:?}"));
    let eye = EyeDiagram::build(&sig, Modulation::Pam4, &EyeConfig { samples_per_ui: 16, ..EyeConfig::default() }).unwrap();
    write_pngs("pon_pam4", &sig, &eye);
}
