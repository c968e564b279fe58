//! User-supplied patterns: symbol values from a text file or a string.
//!
//! Format: digits `0`–`3`, one per symbol, separated by whitespace, commas or semicolons, or
//! written contiguously (`0123` is four symbols); `#` starts a comment that runs to the end of
//! the line. A UTF-8 byte-order mark at the start is ignored.

use crate::{Error, Result};

/// Largest user pattern accepted, in symbols (2²⁰). Alignment correlates against the whole
/// period, so its memory grows with the pattern.
pub const MAX_USER_SYMBOLS: usize = 1 << 20;

/// Largest pattern file read, in bytes (a generous bound for `MAX_USER_SYMBOLS` digits with
/// separators and comments).
pub const MAX_USER_FILE_BYTES: u64 = 64 << 20;

/// Parses symbol text. `position` in [`Error::IllegalSymbol`] is the index the offending token
/// would have had in the symbol sequence; `value` quotes it with its line and column.
pub fn parse_symbols(origin: &str, text: &str) -> Result<Vec<u8>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let content = match line.find('#') {
            Some(p) => &line[..p],
            None => line,
        };
        for (col, ch) in content.char_indices() {
            match ch {
                '0'..='3' => {
                    if out.len() >= MAX_USER_SYMBOLS {
                        return Err(Error::invalid(
                            "user pattern length",
                            format!("more than {MAX_USER_SYMBOLS} symbols in {origin}"),
                            format!("user patterns are limited to {MAX_USER_SYMBOLS} symbols"),
                        ));
                    }
                    out.push(ch as u8 - b'0');
                }
                c if c.is_whitespace() || c == ',' || c == ';' => {}
                c => {
                    return Err(Error::IllegalSymbol {
                        origin: origin.to_string(),
                        position: out.len(),
                        value: format!("{c:?} (line {}, column {})", line_no + 1, col + 1),
                        max: 3,
                    })
                }
            }
        }
    }
    Ok(out)
}

/// Reads and parses a pattern file (bounded by [`MAX_USER_FILE_BYTES`]).
pub fn read_symbols_file(path: &str) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_USER_FILE_BYTES {
        return Err(Error::invalid(
            "user pattern file size",
            meta.len(),
            format!("pattern files are limited to {MAX_USER_FILE_BYTES} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })?;
    parse_symbols(&format!("file:{path}"), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_comments_and_contiguous_digits() {
        let t = "\u{feff}# header\n0 1, 2;3\n0123 # trailing\n\n  3\t2\r\n";
        assert_eq!(parse_symbols("t", t).unwrap(), vec![0, 1, 2, 3, 0, 1, 2, 3, 3, 2]);
        assert!(parse_symbols("t", "# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn illegal_symbol_names_position_and_value() {
        match parse_symbols("f.txt", "0 1 2\n3 4 0") {
            Err(Error::IllegalSymbol { origin, position, value, max }) => {
                assert_eq!(origin, "f.txt");
                assert_eq!(position, 4);
                assert!(value.contains("'4'") && value.contains("line 2") && value.contains("column 3"), "{value}");
                assert_eq!(max, 3);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(parse_symbols("x", "01-2"), Err(Error::IllegalSymbol { position: 2, .. })));
    }
}
