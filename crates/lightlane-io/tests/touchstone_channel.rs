//! A Touchstone channel drives the simulator: `Touchstone::to_channel` → `Channel::Impulse`.

mod common;

use lightlane_core::pattern::Pattern;
use lightlane_core::sim::{Channel, LinkModel};
use lightlane_core::Modulation;
use lightlane_io::touchstone::{self, ChannelPath};

/// |X(f)| of a sequence sampled at `dt`.
fn dft_mag(x: &[f64], dt: f64, f: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, v) in x.iter().enumerate() {
        let ph = -2.0 * std::f64::consts::PI * f * n as f64 * dt;
        re += v * ph.cos();
        im += v * ph.sin();
    }
    (re * re + im * im).sqrt()
}

#[test]
fn vita_thru_pulse_response_has_the_files_insertion_loss() {
    let Some(c) = common::captures() else { return };
    let ts = touchstone::read(&c.join("touchstone/pychopmarg_vita68_kr4/example2_THRU.s4p")).unwrap();
    let baud = 25.78125e9;
    let dt = 1.0 / (32.0 * baud);
    let Channel::Impulse { dt: got_dt, taps } = ts.to_channel(&ChannelPath::sdd21_odd_even(), dt).unwrap() else {
        panic!("an impulse channel")
    };
    assert_eq!(got_dt, dt);
    // Pulse response: the impulse response convolved with a one-UI rectangle (32 samples).
    let mut pulse = vec![0.0; taps.len() + 32];
    for (i, &t) in taps.iter().enumerate() {
        for p in &mut pulse[i..i + 32] {
            *p += t;
        }
    }
    let rect = vec![1.0; 32];
    let sdd21 = ts.transfer(&ChannelPath::sdd21_odd_even()).unwrap();
    // MANIFEST: |SDD21| −11.85 dB at 5 GHz, −23.45 dB at 12.89 GHz (Nyquist of 25.78 GBd).
    for (f, manifest_db) in [(5e9, -11.85), (baud / 2.0, -23.45)] {
        let h = dft_mag(&pulse, dt, f) / dft_mag(&rect, dt, f);
        let db = 20.0 * h.log10();
        let (_, file) = touchstone::at_frequency(&ts.freqs, &sdd21, f).unwrap();
        let file_db = touchstone::db(file);
        assert!((db - file_db).abs() < 0.25, "{f:e} Hz: pulse response {db:.2} dB vs file {file_db:.2} dB");
        assert!((db - manifest_db).abs() < 0.3, "{f:e} Hz: {db:.2} dB vs MANIFEST {manifest_db}");
    }
    // Single-ended S21 is a valid path too; bad ports are typed errors.
    assert!(ts.to_channel(&ChannelPath::Single { out: 2, inp: 1 }, dt).is_ok());
    assert!(ts.to_channel(&ChannelPath::Single { out: 5, inp: 1 }, dt).is_err());
    assert!(ts.to_channel(&ChannelPath::Differential { pairs: vec![(1, 3), (2, 4)], out: 3, inp: 1 }, dt).is_err());
}

/// Eye height at the best sampling phase, as a fraction of the distance between the mean
/// levels: `(min of ones − max of zeros) / (mean of ones − mean of zeros)`, over NRZ samples
/// `y[k·spu + p]` of symbols `bits[k]`.
fn eye_fraction(y: impl Fn(usize, usize) -> f64, bits: &[u8], n: usize, spu: usize) -> f64 {
    (0..spu)
        .map(|p| {
            let (mut lo1, mut hi0, mut s1, mut s0, mut n1, mut n0) = (f64::MAX, f64::MIN, 0.0, 0.0, 0.0, 0.0);
            for k in 0..n {
                let v = y(k, p);
                if bits[k % bits.len()] == 1 {
                    lo1 = lo1.min(v);
                    s1 += v;
                    n1 += 1.0;
                } else {
                    hi0 = hi0.max(v);
                    s0 += v;
                    n0 += 1.0;
                }
            }
            let den = s1 / n1 - s0 / n0;
            // A phase where the ones do not sit above the zeros on average is no eye.
            if den > 0.0 { (lo1 - hi0) / den } else { f64::MIN }
        })
        .fold(f64::MIN, f64::max)
}

#[test]
fn simulation_through_strada_closes_the_eye_as_the_pulse_response_predicts() {
    let Some(c) = common::captures() else { return };
    let ts = touchstone::read(&c.join("touchstone/te_strada_whisper/DPO_4in_Meg7_THRU.s4p")).unwrap();
    let baud = 25.78125e9;
    let spu = 8;
    // Ports 1→2 and 3→4 (MANIFEST): pairs (1,3) in, (2,4) out.
    let path = ChannelPath::sdd21_odd_even();
    let mut model = LinkModel::new(Modulation::Nrz, baud, spu as f64 * baud).unwrap();
    model.channel = ts.to_channel(&path, 1.0 / (model.oversampling as f64 * baud)).unwrap();
    let bits = Pattern::parse("prbs7").unwrap().generate(Modulation::Nrz, 127).unwrap();
    let n = 127 * 8;
    let sym: Vec<u8> = (0..n).map(|k| bits[k % 127]).collect();
    let cap = model.run(&sym).unwrap();
    let x = &cap.waveform.samples;
    // The simulator removes the channel delay; allow a UI either way for the sample grid.
    let simulated = (0..3)
        .map(|d| eye_fraction(|k, p| x.get((k + d) * spu + p).copied().unwrap_or(0.0) as f64, &bits, n - 4 * spu, spu))
        .fold(f64::MIN, f64::max);

    // Prediction: the periodic superposition of the Touchstone pulse response (levels ±1).
    let sdd21 = ts.transfer(&path).unwrap();
    let (_, pulse) = touchstone::pulse_response(&ts.freqs, &sdd21, baud, spu).unwrap();
    let level = |b: u8| if b == 1 { 1.0 } else { -1.0 };
    // Sample k·spu + p + d·spu of the superposition carries bit k at the main cursor when d is
    // the flight time in UI (the pulse peak), give or take one.
    let peak = pulse.iter().enumerate().fold((0, f64::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a }).0 / spu;
    let predicted = (peak.saturating_sub(1)..=peak + 1)
        .map(|d| {
            eye_fraction(
                |k, p| {
                    // Symbol i contributes pulse[(k + d − i)·spu + p]; the pattern repeats.
                    let mut v = 0.0;
                    let mut m = 0;
                    while m * spu + p < pulse.len() {
                        let i = (k + d + 127 * 1000 - m) % 127;
                        v += level(bits[i]) * pulse[m * spu + p];
                        m += 1;
                    }
                    v
                },
                &bits,
                127,
                spu,
            )
        })
        .fold(f64::MIN, f64::max);
    // Without a channel the eye is fully open (fraction 1); −7 dB at Nyquist closes it partly.
    assert!(predicted > 0.1 && predicted < 0.9, "predicted eye fraction {predicted}");
    assert!((simulated - predicted).abs() < 0.05, "simulated eye fraction {simulated:.3} vs predicted {predicted:.3}");
}
