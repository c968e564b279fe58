//! Comma/semicolon/tab separated captures: a time column and one value column per channel,
//! or value columns only with the sample interval in a header line, after any vendor header.
//!
//! Handled layouts:
//! - generic `time,ch1,ch2` with or without a names row;
//! - Tektronix spreadsheet CSV, old style (header fields in the first three columns of the
//!   data rows: `Record Length,1e4,,t,v`) and new style (`Model,...` lines then `TIME,CH1`);
//! - Keysight InfiniiVision (`x-axis,1,2` / `second,Volt,Volt` rows) and Infiniium (values only,
//!   `XInc`/`Increment`/`Sample Interval` and `XOrg`/`Start` in the header);
//! - LeCroy (`Segments,N,SegmentSize,M` and `Time,Ampl`, segments one after another).
//!
//! Data rows are the most frequent row shape (number of fields, number of trailing numeric
//! fields); everything else is header. Segments start where the time column steps back.

use crate::{IoError, Result};
use lightlane_core::Waveform;
use std::collections::BTreeMap;

/// Most value columns a file may have.
const MAX_COLUMNS: usize = 64;
/// Most header entries kept.
const MAX_HEADER: usize = 64;

fn is_num(s: &str) -> Option<f64> {
    let s = s.trim().trim_matches('"');
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes()[0];
    if !(b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.') {
        return None; // rejects "inf"/"nan" words, which are never data here
    }
    s.parse::<f64>().ok()
}

fn split(line: &str, delim: Option<char>) -> Vec<&str> {
    let mut f: Vec<&str> = match delim {
        Some(d) => line.split(d).map(str::trim).collect(),
        None => line.split_whitespace().collect(),
    };
    while f.last().is_some_and(|s| s.is_empty()) {
        f.pop();
    }
    f
}

fn shape(fields: &[&str]) -> (usize, usize) {
    let k = fields.iter().rev().take_while(|s| is_num(s).is_some()).count();
    (fields.len(), k)
}

/// True when `text` looks like a delimited numeric capture.
pub fn sniff(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(64).collect();
    let numeric = lines.iter().filter(|l| shape(&split(l, Some(','))).1 >= 1 || shape(&split(l, None)).1 >= 1).count();
    lines.len() >= 2 && numeric * 2 >= lines.len()
}

fn header_value<'a>(header: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    header
        .iter()
        .find(|(k, _)| keys.iter().any(|w| k.eq_ignore_ascii_case(w)))
        .map(|(_, v)| v.as_str())
}

/// Parses CSV text into waveforms: one per value column and segment. `fs` is used when the file
/// has neither a time column nor a sample interval in its header.
pub fn parse(name: &str, text: &str, fs: Option<f64>) -> Result<Vec<Waveform>> {
    // The lines are walked twice rather than collected, so memory stays proportional to the
    // numbers read, not to the line count.
    let lines = || text.lines().map(|l| l.trim_end_matches('\r'));
    let sample: String = lines().take(200).collect::<Vec<_>>().join("\n");
    let delim = if sample.contains(',') {
        Some(',')
    } else if sample.contains(';') {
        Some(';')
    } else if sample.contains('\t') {
        Some('\t')
    } else {
        None
    };
    // Pass 1: the data row shape.
    let mut hist: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for l in lines() {
        let s = shape(&split(l, delim));
        if s.1 >= 1 {
            *hist.entry(s).or_default() += 1;
        }
    }
    // Rows that are numbers only win over rows with labels when there are at least two.
    let pure = hist.iter().filter(|(s, &c)| s.0 == s.1 && c >= 2).max_by_key(|(s, &c)| (c, s.1));
    let (&data_shape, _) = pure
        .or_else(|| hist.iter().max_by_key(|(s, &c)| (c, s.1)))
        .ok_or_else(|| IoError::missing(name, "data", "no numeric rows in the CSV file"))?;
    let ncols = data_shape.1;
    if ncols > MAX_COLUMNS {
        return Err(IoError::unsupported(name, "columns", ncols, format!("at most {MAX_COLUMNS} value columns")));
    }
    // Pass 2: columns and header.
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); ncols];
    let mut header: BTreeMap<String, String> = BTreeMap::new();
    let mut names: Option<Vec<String>> = None;
    let mut units: Option<String> = None;
    let add_pairs = |fields: &[&str], header: &mut BTreeMap<String, String>| {
        let mut i = 0;
        while i + 1 < fields.len() && header.len() < MAX_HEADER {
            let (k, v) = (fields[i].trim_matches('"'), fields[i + 1].trim_matches('"'));
            if !k.is_empty() && is_num(k).is_none() && !v.is_empty() {
                header.entry(k.chars().take(64).collect()).or_insert_with(|| v.chars().take(120).collect());
            }
            i += 2;
        }
    };
    let mut seen_data = false;
    for l in lines() {
        let f = split(l, delim);
        let s = shape(&f);
        if s == data_shape {
            seen_data = true;
            let n = f.len();
            for (c, field) in f[n - ncols..].iter().enumerate() {
                cols[c].push(is_num(field).unwrap_or(f64::NAN));
            }
            add_pairs(&f[..n - ncols], &mut header);
        } else {
            let first = f.first().map(|s| s.trim_matches('"').to_ascii_lowercase()).unwrap_or_default();
            if !seen_data && first == "x-axis" && f.len() == ncols {
                // Keysight InfiniiVision: "x-axis,1,2" names the channels.
                names = Some(f.iter().map(|s| s.trim_matches('"').chars().take(64).collect()).collect());
            } else if !seen_data && (first == "second" || first == "s") && f.len() == ncols {
                // ...and "second,Volt,Volt" gives the units.
                if let Some(u) = f.get(1) {
                    units = Some(u.trim_matches('"').to_string());
                }
            } else if !seen_data && s.1 == 0 && f.len() >= ncols && ncols >= 1 && f.len() <= ncols + 3 {
                names = Some(f[f.len() - ncols..].iter().map(|s| s.trim_matches('"').chars().take(64).collect()).collect());
            }
            add_pairs(&f, &mut header);
        }
    }
    let n = cols[0].len();
    // Which column is time?
    let name_says_time = names
        .as_ref()
        .map(|v| {
            let s = v[0].to_ascii_lowercase();
            s.contains("time") || s.contains("x-axis") || s == "t" || s.starts_with("t (") || s.contains("second")
        })
        .unwrap_or(false);
    let col0_increasing = n >= 2 && {
        let up = cols[0].windows(2).filter(|w| w[1] > w[0]).count();
        up * 10 >= (n - 1) * 9
    };
    let has_time = ncols >= 2 && (name_says_time || col0_increasing);
    let unit = header_value(&header, &["Vertical Units", "YUnits", "Y Units"])
        .or(units.as_deref())
        .map(|u| if u.eq_ignore_ascii_case("volt") || u.eq_ignore_ascii_case("volts") { "V".to_string() } else { u.to_string() })
        .unwrap_or_else(|| "V".into());
    // Segment boundaries.
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let declared = header_value(&header, &["Segments"])
        .and_then(|s| s.parse::<usize>().ok())
        .zip(header_value(&header, &["SegmentSize"]).and_then(|s| s.parse::<usize>().ok()));
    match declared {
        Some((segs, size)) if segs > 1 && size > 0 && segs.checked_mul(size) == Some(n) => {
            bounds.extend((0..segs).map(|s| (s * size, (s + 1) * size)));
        }
        _ if has_time => {
            let mut start = 0;
            for i in 1..n {
                if cols[0][i] <= cols[0][i - 1] {
                    bounds.push((start, i));
                    start = i;
                }
            }
            bounds.push((start, n));
            if bounds.len() > 1 && bounds.iter().any(|&(a, b)| b - a < 2) {
                return Err(IoError::bad_at(name, "time", bounds.len(), "the time column steps back every row or two: not a time column"));
            }
        }
        _ => bounds.push((0, n)),
    }
    // Sample interval from the header, for value-only files and one-sample segments.
    let header_dt = header_value(&header, &["Sample Interval", "XInc", "Increment", "x increment", "Horizontal Increment"])
        .and_then(|v| v.split_whitespace().next().and_then(|t| t.parse::<f64>().ok()));
    let header_t0 = header_value(&header, &["XOrg", "Start", "x origin", "Horizontal Offset"])
        .and_then(|v| v.split_whitespace().next().and_then(|t| t.parse::<f64>().ok()))
        .unwrap_or(0.0);
    let value_cols: Vec<usize> = if has_time { (1..ncols).collect() } else { (0..ncols).collect() };
    let mut out = Vec::with_capacity(value_cols.len() * bounds.len());
    for (si, &(a, b)) in bounds.iter().enumerate() {
        let m = b - a;
        let (dt, t0) = if has_time {
            let t = &cols[0][a..b];
            if m >= 2 {
                let dt = (t[m - 1] - t[0]) / (m - 1) as f64;
                if !(dt.is_finite() && dt > 0.0) {
                    return Err(IoError::bad_at(name, "time", dt, "sample interval from the time column must be positive"));
                }
                let tol = 0.2 * dt;
                if let Some(i) = t.iter().enumerate().position(|(i, &ti)| {
                    let err = (ti - (t[0] + i as f64 * dt)).abs();
                    err.is_nan() || err > tol
                }) {
                    return Err(IoError::bad_at(name, "time", t[i], format!("row {} is off the uniform grid of {dt:e} s", a + i)));
                }
                (dt, t[0])
            } else {
                (header_dt.unwrap_or(f64::NAN), t.first().copied().unwrap_or(0.0))
            }
        } else {
            match (header_dt, fs) {
                (Some(dt), _) => (dt, header_t0),
                (None, Some(fs)) => (1.0 / fs, 0.0),
                (None, None) => {
                    return Err(IoError::missing(name, "fs", "the CSV file has no time column and no sample interval: pass fs"));
                }
            }
        };
        crate::layout::check_timing(name, dt, t0)?;
        for &c in &value_cols {
            let samples: Vec<f32> = cols[c][a..b].iter().map(|&v| v as f32).collect();
            // The header goes with the first segment only (read_capture fills the rest in).
            let mut extra = if si == 0 { header.clone() } else { BTreeMap::new() };
            extra.insert("format".into(), "csv".into());
            if !has_time && header_dt.is_none() {
                extra.insert("fs_source".into(), "options".into());
            }
            if bounds.len() > 1 {
                extra.insert("segment".into(), si.to_string());
                extra.insert("segments".into(), bounds.len().to_string());
            }
            let channel = names
                .as_ref()
                .and_then(|v| v.get(c).cloned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("column {}", c + 1));
            let wf = Waveform {
                samples,
                dt,
                t0,
                raw: None,
                meta: lightlane_core::waveform::WaveformMeta {
                    source: None,
                    channel: Some(channel),
                    vertical_unit: unit.clone(),
                    extra,
                },
            };
            wf.validate().map_err(|e| IoError::Invalid {
                path: name.to_string(),
                source: e,
            })?;
            out.push(wf);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_two_channels_with_names() {
        let t = "Time,CH1,CH2\n0,0.5,1\n1e-9,0.25,2\n2e-9,-0.5,3\n";
        let w = parse("t", t, None).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].samples, vec![0.5, 0.25, -0.5]);
        assert_eq!(w[1].meta.channel.as_deref(), Some("CH2"));
        assert!((w[0].dt - 1e-9).abs() < 1e-21);
    }

    #[test]
    fn tek_old_style_header_in_columns() {
        let t = "Record Length,4.000000e+00,,-2.000000e-09,0.01\nSample Interval,1.000000e-09,s,-1.000000e-09,0.02\nTrigger Point,2.000000e+00,Samples,0.000000e+00,0.03\n,,,1.000000e-09,0.04\n";
        let w = parse("t", t, None).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].samples, vec![0.01, 0.02, 0.03, 0.04]);
        assert!((w[0].t0 + 2e-9).abs() < 1e-21);
        assert_eq!(w[0].meta.extra.get("Record Length").map(String::as_str), Some("4.000000e+00"));
    }

    #[test]
    fn keysight_infiniivision_and_infiniium() {
        let t = "x-axis,1,2\nsecond,Volt,Volt\n-1.0e-06,0.1,1\n-0.5e-06,0.2,2\n0.0,0.3,3\n";
        let w = parse("t", t, None).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].meta.channel.as_deref(), Some("1"));
        assert_eq!(w[0].meta.vertical_unit, "V");
        assert!((w[0].dt - 0.5e-6).abs() < 1e-18);
        let t = "Revision,0\nType,raw\nStart,-1e-9\nXInc,5e-10\nPoints,3\nData,\n0.1\n0.2\n0.3\n";
        let w = parse("t", t, None).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].samples, vec![0.1, 0.2, 0.3]);
        assert_eq!(w[0].dt, 5e-10);
        assert_eq!(w[0].t0, -1e-9);
    }

    #[test]
    fn lecroy_segments() {
        let t = "LECROYWR6Zi,12345,Waveform\nSegments,2,SegmentSize,3\nSegment,TrigTime,TimeSinceSegment1\n#1,01-Jan-2020,0\n#2,01-Jan-2020,1e-3\nTime,Ampl\n0,1\n1e-9,2\n2e-9,3\n0,4\n1e-9,5\n2e-9,6\n";
        let w = parse("t", t, None).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].samples, vec![4.0, 5.0, 6.0]);
        assert_eq!(w[1].meta.extra.get("segment").map(String::as_str), Some("1"));
    }

    #[test]
    fn bad_timing_is_typed() {
        assert!(matches!(parse("t", "0.1\n0.2\n0.3\n", None), Err(IoError::MissingField { field: "fs", .. })));
        assert_eq!(parse("t", "0.1\n0.2\n0.3\n", Some(1e9)).unwrap()[0].dt, 1e-9);
        // Non-uniform time column.
        assert!(matches!(parse("t", "time,v\n0,1\n1,2\n2,3\n3.5,4\n4,5\n", None), Err(IoError::BadField { field: "time", .. })));
        // Zero sample interval in the header.
        assert!(matches!(parse("t", "XInc,0\nData,\n1\n2\n3\n", None), Err(IoError::BadField { .. })));
        assert!(parse("t", "hello\nworld\n", None).is_err());
        assert!(parse("t", "", None).is_err());
    }
}
