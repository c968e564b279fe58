//! Patterns: golden sequences against the 802.3 example and reference captures, PRBS
//! properties, user patterns, and synchronisation / error counting under every impairment the
//! checker claims to handle.

use lightlane_core::modulation::{bit_errors_between, gray_decode, symbols_to_bits, BitMapping};
use lightlane_core::pattern::{Pattern, PatternChecker, SymbolTransform, SyncConfig};
use lightlane_core::{Error, Modulation};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PAM4: Modulation = Modulation::Pam4;
const NRZ: Modulation = Modulation::Nrz;

fn shared(rel: &str) -> Option<String> {
    let path = format!("{}/../../../shared/{rel}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("SKIP: {path} not readable ({e}); the shared reference folder is absent");
            None
        }
    }
}

fn digits(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0'))
        .collect()
}

fn p(name: &str) -> Pattern {
    Pattern::parse(name).unwrap()
}

fn checker(name: &str, m: Modulation) -> PatternChecker {
    PatternChecker::new(&p(name), m, SyncConfig::default()).unwrap()
}

/// `len` transmitted symbols starting at pattern symbol `offset`, as received under `t`.
fn stream(name: &str, m: Modulation, offset: usize, len: usize, t: SymbolTransform) -> Vec<u8> {
    let mut v = p(name).generate(m, offset + len).unwrap();
    v.drain(..offset);
    t.apply_in_place(m, &mut v);
    v
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Moves `n` random symbols to an adjacent level (one bit error each with Gray mapping).
fn adjacent_errors(v: &mut [u8], m: Modulation, fraction: f64, seed: u64) -> usize {
    let mut r = rng(seed);
    let max = m.max_symbol();
    let mut count = 0;
    for s in v.iter_mut() {
        if r.random_bool(fraction) {
            *s = if *s == 0 {
                1
            } else if *s == max || r.random_bool(0.5) {
                *s - 1
            } else {
                *s + 1
            };
            count += 1;
        }
    }
    count
}

// ---------------------------------------------------------------- golden sequences

#[test]
fn golden_prbs9q_equals_802_3dj_example() {
    let Some(text) = shared("reference/calc/prbs9q.txt") else { return };
    let reference: Vec<u8> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .flat_map(|s| s.bytes().map(|b| b - b'0'))
        .collect();
    assert_eq!(reference.len(), 511);
    assert_eq!(p("prbs9q").generate(PAM4, 511).unwrap(), reference);
}

#[test]
fn golden_prbs13q_equals_capture_rotated_by_1727() {
    let Some(text) = shared("captures/patterns/PRBS13Q_graycoded_bitpairs.txt") else { return };
    let bits = digits(&text);
    assert_eq!(bits.len(), 16_382);
    // The file holds level bits (already Gray-coded): level = 2·b0 + b1.
    let file: Vec<u8> = bits.chunks_exact(2).map(|b| 2 * b[0] + b[1]).collect();
    let ours = p("prbs13q").generate(PAM4, 8191).unwrap();
    // Our symbol k (lane-0 seed of Table 94-11, output = fb) is the file's symbol k + 1727.
    let rotations: Vec<usize> = (0..8191).filter(|&r| (0..8191).all(|k| ours[k] == file[(k + r) % 8191])).collect();
    assert_eq!(rotations, vec![1727]);
}

#[test]
fn golden_ssprq_equals_ieee_order_capture() {
    let Some(text) = shared("captures/patterns/SSPRQ_levels_ieee_order.txt") else { return };
    let file = digits(&text);
    assert_eq!(file.len(), 65_535);
    let ours = p("ssprq").generate(PAM4, 65_535).unwrap();
    assert_eq!(ours, file);
    // The file header's level probabilities 0.232166 / 0.267842 / 0.267826 / 0.232166.
    let mut counts = [0u32; 4];
    ours.iter().for_each(|&s| counts[s as usize] += 1);
    let probs: Vec<f64> = counts.iter().map(|&c| c as f64 / 65_535.0).collect();
    for (a, b) in probs.iter().zip([0.232166, 0.267842, 0.267826, 0.232166]) {
        assert!((a - b).abs() < 1e-6, "{probs:?}");
    }
}

#[test]
fn prbs13q_statistics() {
    // standards.md §3.2: counts [2047, 2048, 2048, 2048], longest run of 3s is 7, of 0s is 6.
    let s = p("prbs13q").generate(PAM4, 8191).unwrap();
    let mut counts = [0u32; 4];
    s.iter().for_each(|&v| counts[v as usize] += 1);
    assert_eq!(counts, [2047, 2048, 2048, 2048]);
    let longest = |level: u8| {
        let (mut best, mut run) = (0, 0);
        for &v in s.iter().chain(&s[..20]) {
            run = if v == level { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    };
    assert_eq!((longest(3), longest(0)), (7, 6));
}

#[test]
fn prbs_period_recurrence_and_balance() {
    let cases: [(&str, &[usize], bool); 7] = [
        ("prbs7", &[7, 6], false),
        ("prbs9", &[9, 5], false),
        ("prbs11", &[11, 9], false),
        ("prbs13", &[13, 12, 2, 1], false),
        ("prbs15", &[15, 14], false),
        ("prbs23", &[23, 18], false),
        ("prbs31", &[31, 28], true),
    ];
    for (name, exps, inverted_output) in cases {
        let n = exps[0];
        let pattern = p(name);
        let period = (1usize << n) - 1;
        assert_eq!(pattern.period_symbols(NRZ), period as u64);
        assert_eq!(pattern.period_symbols(PAM4), period as u64);
        let len = if n <= 23 { period + 1000 } else { 200_000 };
        let bits = pattern.generate(NRZ, len).unwrap();
        // Recurrence: b[t] = ⊕ b[t − e] (with the output inverter, the XOR of the taps is
        // complemented once more for an odd number of terms).
        for t in n..len {
            let mut x = bits[t];
            for &e in exps {
                x ^= bits[t - e];
            }
            let want = if inverted_output { (exps.len() as u8 + 1) % 2 } else { 0 };
            assert_eq!(x, want, "{name} t={t}");
        }
        if n <= 23 {
            assert_eq!(&bits[period..], &bits[..1000], "{name} period");
            let ones: usize = bits[..period].iter().map(|&b| b as usize).sum();
            assert_eq!(ones, 1 << (n - 1), "{name} balance");
        }
        // PAM4: Gray pairs of the same bit stream, MSB first.
        let syms = pattern.generate(PAM4, 500).unwrap();
        assert_eq!(symbols_to_bits(&syms, PAM4, BitMapping::Gray), bits[..1000].to_vec(), "{name} pam4");
    }
    // PRBS31 (Fig. 49-9: fb = S30 ⊕ S27, output NOT fb) from the all-ones seed: fb stays 0
    // until the zeros shifted in reach S27 (28 clocks), so the output is 28 ones, then a 0.
    let b = p("prbs31").generate(NRZ, 40).unwrap();
    assert!(b[..28].iter().all(|&x| x == 1));
    assert_eq!(b[28], 0);
}

// ---------------------------------------------------------------- user patterns

#[test]
fn user_pattern_from_file_and_text() {
    let path = std::env::temp_dir().join(format!("lightlane_user_pattern_{}.txt", std::process::id()));
    std::fs::write(&path, "# my pattern\n0 1 2 3\n3,3,0\n012 # tail\n").unwrap();
    let pattern = Pattern::parse(&format!("FILE:{}", path.display())).unwrap();
    assert_eq!(pattern.period_symbols(PAM4), 10);
    assert_eq!(pattern.generate(PAM4, 12).unwrap(), vec![0, 1, 2, 3, 3, 3, 0, 0, 1, 2, 0, 1]);
    std::fs::write(&path, "0 1 2\n3 9 0\n").unwrap();
    let err = Pattern::parse(&format!("file:{}", path.display())).unwrap_err();
    assert!(matches!(err, Error::IllegalSymbol { position: 4, .. }), "{err}");
    assert!(err.to_string().contains("'9'"));
    std::fs::remove_file(&path).ok();
    assert!(matches!(Pattern::from_text("t", "0 1 x"), Err(Error::IllegalSymbol { position: 2, .. })));
    assert!(Pattern::from_text("t", "  # nothing\n").is_err());
}

// ---------------------------------------------------------------- sync

#[test]
fn clean_streams_sync_at_any_offset() {
    let cases: [(&str, Modulation, usize); 8] = [
        ("prbs7", NRZ, 5000),
        ("prbs9", PAM4, 5000),
        ("prbs13q", PAM4, 20_000),
        ("prbs23", NRZ, 20_000),
        ("prbs31", NRZ, 20_000),
        ("prbs31q", PAM4, 20_000),
        ("ssprq", PAM4, 30_000),
        ("prbs15", PAM4, 20_000),
    ];
    let mut r = rng(1);
    for (name, m, len) in cases {
        let c = checker(name, m);
        for _ in 0..3 {
            let period = c.period() as usize;
            let offset = r.random_range(0..period.min(1 << 20));
            let rx = stream(name, m, offset, len, SymbolTransform::IDENTITY);
            let a = c.align(&rx).unwrap();
            assert_eq!(a.position, offset as u64, "{name}");
            assert_eq!(a.transform, SymbolTransform::IDENTITY, "{name}");
            let rep = c.check(&rx).unwrap();
            assert_eq!((rep.symbols, rep.bit_errors, rep.resyncs), (len as u64, 0, 0), "{name}");
            assert_eq!(c.expected(&a, 0..len), rx, "{name}");
        }
    }
    // PRBS31Q far into the 2^31 − 1 period (position from the discrete logarithm).
    let c = checker("prbs31q", PAM4);
    let offset = 1_234_567_891u64;
    let probe = Pattern::parse("prbs31q").unwrap().generate(PAM4, 16).unwrap();
    let a0 = c.align(&stream("prbs31q", PAM4, 0, 4000, SymbolTransform::IDENTITY)).unwrap();
    assert_eq!(a0.position, 0);
    let far = lightlane_core::pattern::Alignment { position: offset, ..a0 };
    let rx = c.expected(&far, 0..4000);
    assert_eq!(c.align(&rx).unwrap().position, offset);
    let wrapped = lightlane_core::pattern::Alignment { position: c.period() - 8, ..a0 };
    assert_eq!(&c.expected(&wrapped, 0..24)[8..], &probe[..]);
}

#[test]
fn every_transform_is_detected() {
    for name in ["prbs13q", "prbs31q", "ssprq", "prbs9"] {
        let c = checker(name, PAM4);
        let all = SymbolTransform::candidates(PAM4, true, true, true, true);
        assert_eq!(all.len(), 12);
        // SSPRQ holds its core both plain and inverted: only a stretch longer than that core
        // tells an inverted SSPRQ from a shifted one.
        let len = if name == "ssprq" { 40_000 } else { 6000 };
        for (i, t) in all.iter().enumerate() {
            let rx = stream(name, PAM4, 100 + 37 * i, len, *t);
            let a = c.align(&rx).unwrap();
            assert_eq!(a.transform.lut(PAM4), t.lut(PAM4), "{name} {t:?}");
            assert_eq!(a.position, (100 + 37 * i) as u64, "{name} {t:?}");
            assert_eq!(c.check(&rx).unwrap().bit_errors, 0);
        }
    }
    let c = checker("prbs7", NRZ);
    let inv = SymbolTransform { inverted: true, ..SymbolTransform::IDENTITY };
    let a = c.align(&stream("prbs7", NRZ, 50, 3000, inv)).unwrap();
    assert!(a.transform.inverted);
    // With detection switched off, an inverted stream does not sync.
    let strict = SyncConfig { allow_inversion: false, allow_data_inversion: false, ..SyncConfig::default() };
    let c = PatternChecker::new(&p("prbs7"), NRZ, strict).unwrap();
    assert!(matches!(c.align(&stream("prbs7", NRZ, 50, 3000, inv)), Err(Error::PatternSyncFailed { .. })));
}

/// Exact counts and positions for injected errors (masks computed independently).
fn check_injected(name: &str, m: Modulation, t: SymbolTransform, len: usize, errors: &[(usize, u8)]) {
    let c = checker(name, m);
    let clean = stream(name, m, 777, len, t);
    let mut rx = clean.clone();
    let mut want = Vec::new();
    let mut want_bits = 0u64;
    let mapping = t.bit_mapping();
    for &(i, add) in errors {
        let levels = m.levels() as u8;
        rx[i] = (clean[i] + 1 + add % (levels - 1)) % levels;
        let bits = bit_errors_between(rx[i], clean[i], m, mapping) as u64;
        want_bits += bits;
        let dec_bits = |s: u8| match (m, mapping) {
            (Modulation::Nrz, _) => s,
            (_, BitMapping::Gray) => {
                let (a, b) = gray_decode(s);
                (a << 1) | b
            }
            (_, BitMapping::Binary) => s,
        };
        want.push((i as u64, dec_bits(rx[i]) ^ dec_bits(clean[i])));
    }
    let rep = c.check(&rx).unwrap();
    assert_eq!(rep.symbol_errors, errors.len() as u64, "{name}");
    assert_eq!(rep.bit_errors, want_bits, "{name}");
    assert_eq!(rep.symbols, len as u64);
    let got: Vec<(u64, u8)> = rep.error_positions.iter().map(|e| (e.symbol_index, e.bit_mask)).collect();
    assert_eq!(got, want, "{name}");
    // Bit indices agree with a bit-level comparison of the decided streams.
    let rb = symbols_to_bits(&rx, m, mapping);
    let cb = symbols_to_bits(&clean, m, mapping);
    let diff: Vec<u64> = (0..rb.len()).filter(|&k| rb[k] != cb[k]).map(|k| k as u64).collect();
    assert_eq!(rep.error_bit_indices().collect::<Vec<_>>(), diff);
    let (lo, hi) = rep.ber_ci95;
    assert!(lo <= rep.ber && rep.ber <= hi && hi > 0.0);
}

#[test]
fn injected_errors_are_counted_exactly() {
    let errs: Vec<(usize, u8)> = vec![(0, 0), (1, 1), (17, 2), (4096, 0), (9000, 1), (9001, 2), (19_999, 0)];
    check_injected("prbs13q", PAM4, SymbolTransform::IDENTITY, 20_000, &errs);
    check_injected("ssprq", PAM4, SymbolTransform { inverted: true, ..SymbolTransform::IDENTITY }, 20_000, &errs);
    check_injected("prbs31q", PAM4, SymbolTransform { binary_mapping: true, ..SymbolTransform::IDENTITY }, 20_000, &errs);
    check_injected("prbs31q", PAM4, SymbolTransform { msb_lsb_swapped: true, ..SymbolTransform::IDENTITY }, 20_000, &errs);
    check_injected("prbs7", NRZ, SymbolTransform::IDENTITY, 20_000, &errs);
    check_injected("prbs31", NRZ, SymbolTransform { inverted: true, ..SymbolTransform::IDENTITY }, 20_000, &errs);
}

#[test]
fn error_positions_are_capped() {
    let cfg = SyncConfig { max_error_positions: 5, ..SyncConfig::default() };
    let c = PatternChecker::new(&p("prbs13q"), PAM4, cfg).unwrap();
    let mut rx = stream("prbs13q", PAM4, 0, 10_000, SymbolTransform::IDENTITY);
    for i in (100..10_000).step_by(500) {
        rx[i] = (rx[i] + 1) % 4;
    }
    let rep = c.check(&rx).unwrap();
    assert_eq!(rep.symbol_errors, 20);
    assert_eq!(rep.error_positions.len(), 5);
    assert!(rep.error_positions_truncated);
    assert_eq!(rep.error_positions[4].symbol_index, 2100);
}

#[test]
fn slips_resync_with_few_errors() {
    for (name, m) in [("prbs31q", PAM4), ("ssprq", PAM4), ("prbs13q", PAM4), ("prbs7", NRZ), ("prbs31", NRZ)] {
        let c = checker(name, m);
        let n = 60_000;
        // Deleted symbol.
        let mut rx = stream(name, m, 321, n, SymbolTransform::IDENTITY);
        rx.remove(25_000);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 1, "{name} deletion");
        assert!(rep.bit_errors <= 2, "{name} deletion: {} bit errors", rep.bit_errors);
        assert_eq!(rep.symbols + rep.skipped_symbols, (n - 1) as u64);
        assert!(rep.skipped_symbols == 0 && !rep.sync_lost, "{name}");
        // Inserted (repeated) symbol.
        let mut rx = stream(name, m, 321, n, SymbolTransform::IDENTITY);
        rx.insert(40_000, rx[40_000]);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 1, "{name} insertion");
        assert!(rep.bit_errors <= 2, "{name} insertion: {}", rep.bit_errors);
        // A jump beyond the local search (5000 symbols lost): full re-acquisition.
        let mut rx = stream(name, m, 321, n, SymbolTransform::IDENTITY);
        rx.drain(30_000..35_000);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 1, "{name} big slip");
        assert!(rep.bit_errors <= 2 && rep.skipped_symbols == 0, "{name} big slip: {rep:?}");
    }
}

#[test]
fn garbage_segments_and_bursts() {
    let mut r = rng(7);
    for (name, m) in [("prbs31q", PAM4), ("ssprq", PAM4), ("prbs15", NRZ)] {
        let c = checker(name, m);
        let levels = m.levels() as u8;
        // Burst: 3000 random symbols overwrite the stream, alignment unchanged: counted, no resync.
        let clean = stream(name, m, 99, 50_000, SymbolTransform::IDENTITY);
        let mut rx = clean.clone();
        for s in &mut rx[20_000..23_000] {
            *s = r.random_range(0..levels);
        }
        let want = lightlane_core::pattern::count_errors_naive(&rx, &clean, m, BitMapping::Gray);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 0, "{name}");
        assert_eq!((rep.symbol_errors, rep.bit_errors), (want.symbol_errors, want.bit_errors), "{name}");
        // Inserted garbage: 4000 random symbols, then the pattern continues where it left off.
        let mut rx = clean.clone();
        let junk: Vec<u8> = (0..4000).map(|_| r.random_range(0..levels)).collect();
        rx.splice(20_000..20_000, junk);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 1, "{name}");
        assert!(rep.skipped_symbols >= 3_900 && rep.skipped_symbols <= 4_100, "{name}: {}", rep.skipped_symbols);
        assert!(rep.bit_errors < 200, "{name}: {}", rep.bit_errors);
        // Garbage to the end: sync lost, the good part counted.
        let mut rx = clean.clone();
        for s in &mut rx[30_000..] {
            *s = r.random_range(0..levels);
        }
        let rep = c.check(&rx).unwrap();
        assert!(rep.sync_lost, "{name}");
        assert!((29_000..=30_100).contains(&rep.symbols), "{name}: {}", rep.symbols);
        assert!(rep.bit_errors < 100, "{name}: {}", rep.bit_errors);
    }
}

#[test]
fn high_symbol_error_ratio_still_aligns() {
    for (name, m, ser) in [("prbs13q", PAM4, 0.15), ("prbs31q", PAM4, 0.2), ("ssprq", PAM4, 0.2), ("prbs7", NRZ, 0.1), ("prbs23", PAM4, 0.15)] {
        let c = checker(name, m);
        let mut rx = stream(name, m, 4321, 40_000, SymbolTransform { inverted: true, ..SymbolTransform::IDENTITY });
        let injected = adjacent_errors(&mut rx, m, ser, 11);
        let a = c.align(&rx).unwrap();
        assert_eq!(a.position, 4321 % c.period(), "{name}");
        assert!(a.transform.inverted, "{name}");
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 0, "{name}");
        assert_eq!(rep.symbols, 40_000, "{name}");
        assert_eq!(rep.symbol_errors, injected as u64, "{name}");
    }
}

#[test]
fn random_data_never_syncs() {
    let mut r = rng(3);
    for (name, m) in [("prbs13q", PAM4), ("prbs31q", PAM4), ("ssprq", PAM4), ("prbs7", NRZ), ("prbs31", NRZ)] {
        let c = checker(name, m);
        let rx: Vec<u8> = (0..20_000).map(|_| r.random_range(0..m.levels() as u8)).collect();
        assert!(matches!(c.check(&rx), Err(Error::PatternSyncFailed { .. })), "{name}");
    }
    let user = Pattern::from_text("u", "0 1 2 3 3 1 0 2 2 1").unwrap();
    let c = PatternChecker::new(&user, PAM4, SyncConfig::default()).unwrap();
    let rx: Vec<u8> = (0..5000).map(|_| r.random_range(0..4)).collect();
    assert!(matches!(c.align(&rx), Err(Error::PatternSyncFailed { .. })));
    let rx = user.generate(PAM4, 5000).unwrap();
    let rep = c.check(&rx[3..]).unwrap();
    assert_eq!((rep.bit_errors, rep.alignment.position), (0, 3));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let c = checker("prbs31q", PAM4);
    let short = stream("prbs31q", PAM4, 0, 100, SymbolTransform::IDENTITY);
    assert!(matches!(c.check(&short), Err(Error::InputTooShort { .. })));
    assert!(matches!(c.check(&[]), Err(Error::InputTooShort { .. })));
    let mut rx = stream("prbs31q", PAM4, 0, 5000, SymbolTransform::IDENTITY);
    rx[10] = 4;
    assert!(matches!(c.check(&rx), Err(Error::ValueOutOfRange { index: 10, value: 4, .. })));
    assert!(PatternChecker::new(&p("ssprq"), NRZ, SyncConfig::default()).is_err());
    let bad = SyncConfig { resync_ber_threshold: 0.7, ..SyncConfig::default() };
    assert!(PatternChecker::new(&p("prbs7"), NRZ, bad).is_err());
}

#[test]
fn report_serializes() {
    let c = checker("prbs9q", PAM4);
    let rep = c.check(&stream("prbs9q", PAM4, 3, 3000, SymbolTransform::IDENTITY)).unwrap();
    let json = serde_json::to_string(&rep).unwrap();
    assert!(json.contains("\"pattern\":\"PRBS9Q\"") && json.contains("\"modulation\":\"pam4\""));
    let back: lightlane_core::pattern::ErrorReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rep);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_injected_errors_counted_exactly(
        positions in proptest::collection::btree_set(0usize..12_000, 0..60),
        adds in proptest::collection::vec(0u8..3, 60),
        which in 0usize..3,
    ) {
        let (name, m) = [("prbs13q", PAM4), ("ssprq", PAM4), ("prbs11", NRZ)][which];
        let errs: Vec<(usize, u8)> = positions.iter().zip(&adds).map(|(&i, &a)| (i, a)).collect();
        check_injected(name, m, SymbolTransform::IDENTITY, 12_000, &errs);
    }
}

#[test]
fn long_user_pattern_with_errors_aligns() {
    // 30 000 random symbols: longer than the correlation window (linear correlation layout).
    let mut r = rng(21);
    let symbols: Vec<u8> = (0..30_000).map(|_| r.random_range(0..4)).collect();
    let user = Pattern::from_symbols("random-user", symbols).unwrap();
    let c = PatternChecker::new(&user, PAM4, SyncConfig::default()).unwrap();
    let inv = SymbolTransform { inverted: true, ..SymbolTransform::IDENTITY };
    let mut rx = user.generate(PAM4, 12_345 + 50_000).unwrap();
    rx.drain(..12_345);
    inv.apply_in_place(PAM4, &mut rx);
    let injected = adjacent_errors(&mut rx, PAM4, 0.15, 5);
    let a = c.align(&rx).unwrap();
    assert_eq!((a.position, a.transform), (12_345, inv));
    let rep = c.check(&rx).unwrap();
    assert_eq!((rep.symbol_errors, rep.resyncs), (injected as u64, 0));
}

#[test]
fn slip_at_high_symbol_error_ratio() {
    for (name, m) in [("prbs31q", PAM4), ("ssprq", PAM4), ("prbs13q", PAM4)] {
        let c = checker(name, m);
        let clean = stream(name, m, 1000, 80_000, SymbolTransform::IDENTITY);
        let mut rx = clean.clone();
        adjacent_errors(&mut rx, m, 0.1, 9);
        rx.remove(40_000);
        let rep = c.check(&rx).unwrap();
        assert_eq!(rep.resyncs, 1, "{name}");
        assert_eq!(rep.skipped_symbols, 0, "{name}");
        assert!((rep.ser - 0.1).abs() < 0.01, "{name}: {}", rep.ser);
    }
}

/// A Gray PAM4 PRBS read as binary fits at 25 % BER on every seed; one wrong symbol at the first
/// seed must not make sync settle for that transform.
#[test]
fn marginal_transform_does_not_beat_true_one_after_early_error() {
    use lightlane_core::pattern::{Pattern, PatternChecker, SyncConfig};
    use lightlane_core::Modulation;
    let m = Modulation::Pam4;
    let pattern = Pattern::parse("prbs15").unwrap();
    let mut d = pattern.generate(m, 40_000).unwrap();
    d[0] = (d[0] + 1) % 4;
    let ck = PatternChecker::new(&pattern, m, SyncConfig::default()).unwrap();
    let a = ck.align(&d).unwrap();
    assert!(!a.transform.binary_mapping, "{a:?}");
    let r = ck.check(&d).unwrap();
    assert!(r.symbol_errors <= 1, "{} symbol errors", r.symbol_errors);
}
