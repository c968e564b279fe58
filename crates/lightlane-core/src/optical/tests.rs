use super::*;
use crate::sim::optical::field::SpectralFilter;
use crate::sim::optical::{DispersionModel, OpticalLink, OpticalPower};
use crate::sim::Channel;
use crate::Modulation;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn random_power(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Smoothed random levels around 1 mW.
    let mut v = 1e-3f64;
    (0..n)
        .map(|_| {
            let target = 1e-3 * (0.3 + 1.4 * rng.random::<f64>());
            v += 0.3 * (target - v);
            v as f32
        })
        .collect()
}

#[test]
fn block_emulation_matches_the_whole_capture_oracle() {
    let fs = 256e9;
    let capture = Waveform::new(random_power(60_000, 3), fs).unwrap();
    for (dl, alpha, kappa) in [(-0.93, 0.0, 0.0), (40.0, -0.7, 0.0), (300.0, 2.5, 1e13)] {
        let fiber = Fiber::with_accumulated_dispersion(dl, 1550.0).unwrap();
        let chirp = Chirp {
            alpha,
            adiabatic_k_per_w_s: kappa,
        };
        let em = FiberEmulator::new(fs, &fiber, &EmulationOptions { chirp, ..Default::default() }).unwrap();
        assert!(em.edge_samples() < 20_000, "{}", em.edge_samples());
        let fast = em.emulate(&capture).unwrap();
        let naive = emulate_fiber_naive(&capture, &fiber, chirp).unwrap();
        let mut scratch = EmulatorScratch::default();
        let mut serial = vec![0f32; capture.len()];
        em.process(&capture.samples, &mut serial, &mut scratch).unwrap();
        assert_eq!(serial, fast.samples);
        let e = em.edge_samples();
        let worst = fast.samples[e..capture.len() - e]
            .iter()
            .zip(&naive.samples[e..capture.len() - e])
            .map(|(a, b)| (a - b).abs() as f64)
            .fold(0.0, f64::max);
        // The adiabatic phase integral starts at each window, which only adds a constant phase.
        assert!(worst < 1e-4 * 1e-3, "D·L {dl}: worst {worst:e} W");
        // The fibre does something.
        let change = fast.samples.iter().zip(&capture.samples).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(change > 1e-6, "D·L {dl}: change {change}");
        assert_eq!(fast.meta.extra["emulated_dispersion_ps_per_nm"], dl.to_string());
    }
}

#[test]
fn emulating_on_a_back_to_back_capture_matches_simulating_with_the_fibre() {
    let baud = 26.5625e9;
    let mut b2b = OpticalLink::new(Modulation::Pam4, baud, 4.0 * baud).unwrap();
    b2b.tx.power = OpticalPower::AverageDbm(1.0);
    b2b.tx.extinction_ratio_db = 4.0;
    b2b.tx.bandwidth = Channel::BesselThomson {
        f3db_hz: 0.75 * baud,
        order: 4,
    };
    b2b.tx.chirp = Chirp::transient(-0.8);
    let fiber = Fiber {
        length_km: 10.0,
        wavelength_nm: 1271.0,
        dispersion: DispersionModel::Explicit { ps_per_nm_km: -6.0 },
        attenuation_db_per_km: 0.4,
    };
    let mut with_fiber = b2b.clone();
    with_fiber.fiber = Some(fiber.clone());
    let symbols = crate::pattern::Pattern::parse("prbs13q").unwrap().generate(Modulation::Pam4, 8191).unwrap();
    let cap = b2b.run(&symbols).unwrap();
    let direct = with_fiber.run(&symbols).unwrap();
    let emulated = emulate_fiber(&cap.waveform, &fiber, Chirp::transient(-0.8)).unwrap();
    let em = FiberEmulator::new(cap.waveform.fs(), &fiber, &EmulationOptions::default()).unwrap();
    let e = em.edge_samples();
    let oma_rx = cap.tx_levels.oma_w * fiber.power_transmission();
    let n = cap.waveform.len();
    let worst = direct.waveform.samples[e..n - e]
        .iter()
        .zip(&emulated.samples[e..n - e])
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    let effect = direct.waveform.samples[e..n - e]
        .iter()
        .zip(&cap.waveform.samples[e..n - e])
        .map(|(a, b)| (*a as f64 - *b as f64 * fiber.power_transmission()).abs())
        .fold(0.0, f64::max);
    assert!(effect > 0.1 * oma_rx, "the fibre must matter: {}", effect / oma_rx);
    assert!(worst < 0.02 * oma_rx, "emulated vs simulated: {} of OMA", worst / oma_rx);
    assert_eq!(emulated.meta.vertical_unit, "W");
    assert_eq!(emulated.len(), n);
}

#[test]
fn inverse_dispersion_is_refused_beyond_the_gain_bound() {
    let fs = 256e9;
    let fiber = Fiber::with_accumulated_dispersion(0.0, 1550.0).unwrap();
    // A capture through 2 ps/nm at 1550 nm fades only slightly below 128 GHz: removing it is fine.
    let ok = EmulationOptions {
        capture_dispersion_ps_per_nm: 2.0,
        ..Default::default()
    };
    let em = FiberEmulator::new(fs, &fiber, &ok).unwrap();
    assert_eq!(em.net_dispersion_ps_per_nm(), -2.0);
    // Through 100 ps/nm the capture has fading notches in band: refused.
    let bad = EmulationOptions {
        capture_dispersion_ps_per_nm: 100.0,
        ..Default::default()
    };
    assert!(matches!(
        FiberEmulator::new(fs, &fiber, &bad),
        Err(Error::InvalidParameter { name: "capture_dispersion_ps_per_nm", .. })
    ));
    // ... unless the band of interest stays below the first notch.
    let narrow = EmulationOptions {
        band_hz: Some(5e9),
        ..bad
    };
    assert!(FiberEmulator::new(fs, &fiber, &narrow).is_ok());
}

#[test]
fn bad_captures_are_typed_errors() {
    let fiber = Fiber::smf(2.0, 1310.0).unwrap();
    let mut w = Waveform::new(vec![1e-3; 100], 100e9).unwrap();
    w.samples[7] = f32::NAN;
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::NonFinite { index: 7, .. })));
    let w = Waveform::new(vec![-1e-3; 100], 100e9).unwrap();
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::Unusable { .. })));
    let w = Waveform::new(vec![1e-3], 100e9).unwrap();
    assert!(matches!(emulate_fiber(&w, &fiber, Chirp::default()), Err(Error::InputTooShort { .. })));
    assert!(emulate_fiber(&w, &fiber, Chirp::transient(f64::NAN)).is_err());
    let em = FiberEmulator::new(50e9, &fiber, &EmulationOptions::default()).unwrap();
    let w = Waveform::new(vec![1e-3; 100], 100e9).unwrap();
    assert!(matches!(em.emulate(&w), Err(Error::InvalidParameter { name: "fs", .. })));
}

#[test]
fn mirror_reflects_about_the_end_samples() {
    let idx: Vec<usize> = (-4..9).map(|i| mirror(i, 4)).collect();
    assert_eq!(idx, vec![2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The lossless fibre is all-pass on the field: energy is conserved and D then −D is identity.
    #[test]
    fn all_pass_fibre_conserves_field_energy(seed in any::<u64>(), dl in -2000.0f64..2000.0, log_n in 6u32..12) {
        let n = 1usize << log_n;
        let fs = 100e9;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let field: Vec<Complex64> = (0..n).map(|_| Complex64::new(rng.random::<f64>() - 0.3, rng.random::<f64>() - 0.5)).collect();
        let fiber = Fiber::with_accumulated_dispersion(dl, 1310.0).unwrap();
        let a = fiber.phase_coefficient_s2();
        let mut planner = FftPlanner::new();
        let fwd = SpectralFilter::new(n, fs, &|f: f64| Complex64::from_polar(1.0, a * f * f), &mut planner);
        let back = SpectralFilter::new(n, fs, &|f: f64| Complex64::from_polar(1.0, -a * f * f), &mut planner);
        let mut scratch = vec![Complex64::default(); fwd.scratch_len().max(back.scratch_len())];
        let mut buf = field.clone();
        fwd.apply(&mut buf, &mut scratch);
        let e_in: f64 = field.iter().map(|c| c.norm_sqr()).sum();
        let e_out: f64 = buf.iter().map(|c| c.norm_sqr()).sum();
        prop_assert!((e_out / e_in - 1.0).abs() < 1e-10 * n as f64);
        back.apply(&mut buf, &mut scratch);
        let err = buf.iter().zip(&field).map(|(a, b)| (a - b).norm()).fold(0.0, f64::max);
        prop_assert!(err < 1e-12 * n as f64);
    }

    /// The emulated capture's mean power is the input mean times the fibre transmission (the
    /// all-pass conserves energy; the mirrored ends only perturb it by the edge share).
    #[test]
    fn emulation_conserves_mean_power(seed in any::<u64>(), dl in -50.0f64..50.0, alpha in -3.0f64..3.0) {
        let n = 20_000;
        let w = Waveform::new(random_power(n, seed), 256e9).unwrap();
        let fiber = Fiber { attenuation_db_per_km: 0.5, ..Fiber::with_accumulated_dispersion(dl, 1310.0).unwrap() };
        let out = emulate_fiber(&w, &fiber, Chirp::transient(alpha)).unwrap();
        let m_in = w.samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let m_out = out.samples.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        prop_assert!((m_out / (m_in * fiber.power_transmission()) - 1.0).abs() < 2e-3, "{} {}", m_out, m_in);
    }
}

/// Throughput check (run with `--ignored --nocapture`; numbers depend on the machine's load).
#[test]
#[ignore]
fn emulation_throughput_1m_samples() {
    let fs = 256e9;
    let n = 1 << 20;
    let w = Waveform::new(random_power(n, 5), fs).unwrap();
    for (dl, lambda) in [(-0.93, 1304.5), (-40.0, 1295.0), (340.0, 1550.0)] {
        let fiber = Fiber::with_accumulated_dispersion(dl, lambda).unwrap();
        let em = FiberEmulator::new(fs, &fiber, &EmulationOptions { chirp: Chirp::transient(-0.5), ..Default::default() }).unwrap();
        let mut out = vec![0f32; n];
        let mut scratch = EmulatorScratch::default();
        em.process(&w.samples, &mut out, &mut scratch).unwrap();
        let reps = 5;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            em.process(&w.samples, &mut out, &mut scratch).unwrap();
        }
        let serial = (reps * n) as f64 / t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(em.emulate(&w).unwrap());
        }
        let parallel = (reps * n) as f64 / t.elapsed().as_secs_f64();
        eprintln!(
            "D·L {dl} ps/nm: edge {} samples, serial {:.1} MSa/s, parallel {:.1} MSa/s",
            em.edge_samples(),
            serial / 1e6,
            parallel / 1e6
        );
    }
}
