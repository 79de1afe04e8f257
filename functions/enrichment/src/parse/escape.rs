//! Apache's log escaping (and nginx's `escape=json`), undone.
//!
//! mod_log_config writes `"` and `\` as `\"` and `\\`, a few control characters as `\b \n \r \t \v`,
//! and every other byte outside printable ASCII as `\xhh`. Decoding gives back the bytes the client
//! sent. When those bytes are not UTF-8 (Latin-1 URLs, TLS handshakes on the plain port) the field
//! keeps its escaped text exactly as logged: pure ASCII, and decoding it again gives back the exact
//! bytes, so nothing is lost and nothing is replaced by U+FFFD.

use std::borrow::Cow;

/// Decodes one logged field (quoted or not) into text, without allocating when it has no escapes.
pub fn unescape_field(raw: &[u8]) -> Cow<'_, str> {
    unescape(raw, Escapes::Apache)
}

/// Decodes a field that nginx wrote with `escape=json`: JSON's string escapes (`\"`, `\\`, `\/`,
/// `\b \f \n \r \t`, `\uXXXX` with surrogate pairs). Bytes outside ASCII are written as they are,
/// so a field that does not decode to UTF-8 is kept as logged, as for Apache's escapes.
pub fn unescape_json_field(raw: &[u8]) -> Cow<'_, str> {
    unescape(raw, Escapes::Json)
}

/// Whose escapes a field carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// Apache's (and nginx's default `\xhh`): `\v` and `\xhh` beside the common ones.
    Apache,
    /// JSON's: `\/` and `\uXXXX` beside the common ones.
    Json,
}

fn unescape(raw: &[u8], escapes: Escapes) -> Cow<'_, str> {
    if memchr::memchr(b'\\', raw).is_none() {
        return as_logged(raw);
    }
    match String::from_utf8(decode_escapes(raw, escapes)) {
        Ok(text) => Cow::Owned(text),
        Err(_) => as_logged(raw),
    }
}

/// `\uXXXX` at `at` (and a low surrogate's `\uXXXX` after a high one): the character and the
/// bytes it took.
fn json_unicode_escape(raw: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = |from: usize| -> Option<u32> {
        let digits = raw.get(from..from + 6)?;
        if &digits[..2] != b"\\u" {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()
    };
    let first = unit(at)?;
    if (0xD800..0xDC00).contains(&first) {
        let second = unit(at + 6).filter(|low| (0xDC00..0xE000).contains(low))?;
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return Some((char::from_u32(code)?, 12));
    }
    Some((char::from_u32(first)?, 6))
}

/// Decodes a field that is already a `str` (Kinesis Agent JSON values carry Apache's escapes too).
pub fn unescape_text(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(borrowed) => unescape_field(borrowed.as_bytes()),
        Cow::Owned(owned) => match unescape_field(owned.as_bytes()) {
            Cow::Borrowed(_) => Cow::Owned(owned),
            Cow::Owned(decoded) => Cow::Owned(decoded),
        },
    }
}

/// The field as logged; bytes that are not UTF-8 (never written by Apache itself, which escapes
/// them, but possible from other writers) are shown as `\xhh`, the same convention.
pub fn as_logged(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(escape_invalid_utf8(raw)),
    }
}

/// Valid UTF-8 runs are kept; every byte of an invalid sequence becomes `\xhh`.
pub fn escape_invalid_utf8(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            push_hex_escape(&mut text, *byte);
        }
    }
    text
}

fn push_hex_escape(text: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    text.push_str("\\x");
    text.push(char::from(HEX[usize::from(byte >> 4)]));
    text.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

fn decode_escapes(raw: &[u8], escapes: Escapes) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        if byte != b'\\' || i + 1 == raw.len() {
            decoded.push(byte);
            i += 1;
            continue;
        }
        let (value, consumed) = match (raw[i + 1], escapes) {
            (b'"', _) => (b'"', 2),
            (b'\\', _) => (b'\\', 2),
            (b'n', _) => (b'\n', 2),
            (b't', _) => (b'\t', 2),
            (b'r', _) => (b'\r', 2),
            (b'b', _) => (0x08, 2),
            (b'f', _) => (0x0c, 2),
            (b'v', Escapes::Apache) => (0x0b, 2),
            (b'/', Escapes::Json) => (b'/', 2),
            (b'x', Escapes::Apache) => match raw.get(i + 2..i + 4).and_then(hex_pair) {
                Some(value) => (value, 4),
                // A broken `\x` escape is not Apache's: keep the backslash as a character.
                None => (b'\\', 1),
            },
            (b'u', Escapes::Json) => match json_unicode_escape(raw, i) {
                Some((character, consumed)) => {
                    decoded.extend_from_slice(character.encode_utf8(&mut [0; 4]).as_bytes());
                    i += consumed;
                    continue;
                }
                None => (b'\\', 1),
            },
            // Not an escape of these: the backslash stays a character.
            _ => (b'\\', 1),
        };
        decoded.push(value);
        i += consumed;
    }
    decoded
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_apache_escapes() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("plain text is borrowed", b"curl/8.5.0", "curl/8.5.0"),
            (
                "quote and backslash",
                br#"Mozilla/5.0 \"quoted\" \\back\\slash\\"#,
                r#"Mozilla/5.0 "quoted" \back\slash\"#,
            ),
            ("tab and newline", br"Tab\there\nnext", "Tab\there\nnext"),
            ("utf-8 written as hex escapes", br"L\xc3\xa4ufer/2.0 \xe2\x9c\x93", "Läufer/2.0 ✓"),
            ("latin-1 stays as logged", br"Caf\xe9Browser/1.0", r"Caf\xe9Browser/1.0"),
            ("control bytes are utf-8 and decoded", br"\x16\x03\x01", "\u{16}\u{3}\u{1}"),
            ("broken hex escape keeps the backslash", br"a\xZZb\x4", r"a\xZZb\x4"),
            ("unknown escape keeps the backslash", br"a\qb", r"a\qb"),
            ("trailing backslash", br"ab\", r"ab\"),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(unescape_field(raw), *expected, "{name}");
        }
    }

    #[test]
    fn escaped_form_round_trips_to_the_original_bytes() {
        let logged = br#"Caf\xe9 \"x\" \\"#;
        let kept = unescape_field(logged);
        assert_eq!(decode_escapes(kept.as_bytes(), Escapes::Apache), b"Caf\xe9 \"x\" \\");
    }

    #[test]
    fn raw_invalid_utf8_is_shown_as_hex_escapes() {
        assert_eq!(unescape_field(b"caf\xe9 ok"), r"caf\xe9 ok");
        assert_eq!(as_logged(b"\xff\xfeA"), r"\xff\xfeA");
    }

    #[test]
    fn unescape_text_keeps_owned_values_without_escapes() {
        let owned: Cow<'_, str> = Cow::Owned("no escapes".to_owned());
        assert_eq!(unescape_text(owned), "no escapes");
        assert_eq!(unescape_text(Cow::Borrowed(r#"a \"b\""#)), r#"a "b""#);
    }

    #[test]
    fn decodes_json_escapes_and_only_those() {
        assert_eq!(unescape_json_field(br#"a \"q\" \\ \/ \t \u00e9 \ud83d\ude00"#), "a \"q\" \\ / \t é 😀");
        // Apache's `\x` and `\v` are not JSON's: the backslash stays.
        assert_eq!(unescape_json_field(br#"\x41 \v"#), "\\x41 \\v");
        assert_eq!(unescape_field(br#"\x41 \/"#), "A \\/");
    }
}
