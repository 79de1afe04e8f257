//! A small streaming writer for nested JSON objects whose empty objects vanish.
//!
//! ECS documents are deeply nested and most members are optional. `open` writes `"key":{` at once
//! and `close` cuts it back out when no member was added, so `"http":{"request":{}}` never appears
//! and the document builder needs no "is anything in here?" checks. Keys are literals made into
//! [`Key`]s by `key!` (in [`super::schema`]) and never need escaping; string values go through
//! [`write_json_string`].
//!
//! A document has ~25 keys, so each is written in one copy: `key!` builds `,"name":` at compile
//! time, and the member methods are `#[inline(always)]`, so that copy has a known size and becomes
//! a few stores instead of a `memcpy` call.

const MAX_DEPTH: usize = 8;

/// An object key, written as `,"name":` in one copy; the document's are in [`super::schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// `,"name":`: the leading comma is left out for an object's first member.
    with_comma: &'static str,
}

impl Key {
    /// For `key!`: `with_comma` is `,"name":` for a name that needs no escaping.
    pub(crate) const fn new(with_comma: &'static str) -> Self {
        Self { with_comma }
    }

    /// The member's name.
    pub fn name(&self) -> &'static str {
        &self.with_comma[2..self.with_comma.len() - 2]
    }
}

/// A [`Key`] for an object member named by a string literal that needs no JSON escaping.
macro_rules! key {
    ($name:literal) => {
        $crate::document::Key::new(concat!(",\"", $name, "\":"))
    };
}
pub(crate) use key;

#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    /// Where this object's member (its comma included) starts in the output: an object left
    /// empty is cut back to here.
    start: usize,
    /// Whether the parent had members before this object, restored when it is cut.
    parent_had_members: bool,
    has_members: bool,
}

/// Writes one JSON object into `out`; call [`ObjectWriter::finish`] to close it.
#[derive(Debug)]
pub struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    frames: [Frame; MAX_DEPTH],
    depth: usize,
}

impl<'o> ObjectWriter<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, frames: [Frame::default(); MAX_DEPTH], depth: 0 }
    }

    /// Starts a nested object; it is removed again by [`Self::close`] if no member was added.
    #[inline(always)]
    pub fn open(&mut self, key: Key) {
        debug_assert!(self.depth + 1 < MAX_DEPTH, "documents nest at most {MAX_DEPTH} levels");
        let start = self.out.len();
        let parent_had_members = self.key(key);
        self.out.push(b'{');
        self.depth += 1;
        self.frames[self.depth] = Frame { start, parent_had_members, has_members: false };
    }

    #[inline(always)]
    pub fn close(&mut self) {
        debug_assert!(self.depth > 0, "close without open");
        let frame = self.frames[self.depth];
        self.depth -= 1;
        if frame.has_members {
            self.out.push(b'}');
        } else {
            self.out.truncate(frame.start);
            self.frames[self.depth].has_members = frame.parent_had_members;
        }
    }

    #[inline(always)]
    pub fn string(&mut self, key: Key, value: &str) {
        self.key(key);
        write_json_string(self.out, value);
    }

    #[inline(always)]
    pub fn number(&mut self, key: Key, value: u64) {
        self.key(key);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A finite number (coordinates); non-finite values are skipped, JSON has no NaN.
    pub fn float(&mut self, key: Key, value: f64) {
        if value.is_finite() {
            self.key(key);
            // Serializing an f64 into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *self.out, &value);
        }
    }

    /// An array of strings that need no escaping (tags).
    pub fn strings<'s>(&mut self, key: Key, values: impl Iterator<Item = &'s str>) {
        self.key(key);
        self.out.push(b'[');
        for (i, value) in values.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_json_string(self.out, value);
        }
        self.out.push(b']');
    }

    /// An array whose items `write` appends, comma-separated, straight into the output.
    pub fn array_with(&mut self, key: Key, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(key);
        self.out.push(b'[');
        write(self.out);
        self.out.push(b']');
    }

    /// A value that is already JSON (a cached fragment, an array of tags).
    #[inline(always)]
    pub fn raw(&mut self, key: Key, json: &[u8]) {
        self.key(key);
        self.out.extend_from_slice(json);
    }

    /// Members rendered before, as `,"name":value` each (the first with its comma too).
    pub fn members(&mut self, json: &[u8]) {
        let frame = &mut self.frames[self.depth];
        let json = if frame.has_members { json } else { json.strip_prefix(b",").unwrap_or(json) };
        frame.has_members = true;
        self.out.extend_from_slice(json);
    }

    /// A string value produced by `write` straight into the output (timestamps).
    #[inline(always)]
    pub fn string_with(&mut self, key: Key, write: impl FnOnce(&mut Vec<u8>)) {
        self.key(key);
        self.out.push(b'"');
        write(self.out);
        self.out.push(b'"');
    }

    pub fn finish(mut self) {
        while self.depth > 0 {
            self.close();
        }
        self.out.push(b'}');
    }

    /// Writes `"key":` (after a comma unless it is the first member) and returns whether the
    /// current object already had members.
    #[inline(always)]
    fn key(&mut self, key: Key) -> bool {
        let frame = &mut self.frames[self.depth];
        let had_members = frame.has_members;
        frame.has_members = true;
        let text = key.with_comma.as_bytes();
        // Two copies of known length, not one of a chosen length (which would be a memcpy call).
        if had_members {
            self.out.extend_from_slice(text);
        } else {
            self.out.extend_from_slice(&text[1..]);
        }
        had_members
    }
}

/// Appends `value` as a JSON string literal, escaped exactly as serde_json does it: `"`, `\\` and
/// control characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00XX`), all else copied.
/// serde_json offers its escaper only through `io::Write`, whose per-run calls cost more than the
/// escaping itself on the many short strings of a document.
pub fn write_json_string(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    match first_to_escape(bytes) {
        // Most strings need no escaping at all: one copy.
        None => out.extend_from_slice(bytes),
        Some(first) => write_escaped(out, bytes, first),
    }
    out.push(b'"');
}

/// `bytes` from `first`, the first byte that needs escaping, on: copied in runs between escapes.
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], first: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&bytes[..first]);
    let mut copied = first;
    for (i, &byte) in bytes.iter().enumerate().skip(first) {
        if !must_escape(byte) {
            continue;
        }
        out.extend_from_slice(&bytes[copied..i]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// The length of what [`write_json_string`] writes for `value`, computed without writing it.
pub fn json_string_len(value: &str) -> usize {
    let bytes = value.as_bytes();
    let Some(first) = first_to_escape(bytes) else { return 2 + bytes.len() };
    let rest: usize = bytes[first..]
        .iter()
        .map(|&byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum();
    2 + first + rest
}

fn must_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Where the first byte that needs escaping is, if any: eight bytes at a time in a register, the
/// last few as the last eight (overlapping what was looked at) or, in a string of four to seven
/// bytes, as its first four and last four. Only strings of one to three bytes go byte by byte.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let scan = |from: usize| bytes[from..].iter().position(|&b| must_escape(b)).map(|i| from + i);
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let len = bytes.len();
    if len < 8 {
        if len < 4 {
            return scan(0);
        }
        let half =
            |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes")));
        return needs_escape(half(0) | half(len - 4) << 32).then(|| scan(0)).flatten();
    }
    let mut at = 0;
    while at + 8 <= len {
        if needs_escape(word(at)) {
            return scan(at);
        }
        at += 8;
    }
    (at < len && needs_escape(word(len - 8))).then(|| scan(at)).flatten()
}

/// Whether any of 8 bytes is `"`, `\\` or a control character, tested on all 8 at once: a byte
/// of `v` is zero exactly where `has_zero` sets its high bit (the classic bit trick).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS;
    // Below 0x20: subtracting 0x20 borrows into the high bit of bytes that did not have it set.
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    (has_zero(word ^ (ONES * u64::from(b'"'))) | has_zero(word ^ (ONES * u64::from(b'\\'))) | control) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(build: impl FnOnce(&mut ObjectWriter<'_>)) -> String {
        let mut out = Vec::new();
        let mut writer = ObjectWriter::new(&mut out);
        build(&mut writer);
        writer.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn empty_objects_are_omitted() {
        let json = render(|w| {
            w.open(key!("http"));
            w.open(key!("request"));
            w.close();
            w.close();
            w.string(key!("a"), "b");
        });
        assert_eq!(json, r#"{"a":"b"}"#);
    }

    #[test]
    fn an_empty_object_after_members_leaves_no_comma() {
        let json = render(|w| {
            w.string(key!("a"), "b");
            w.open(key!("x"));
            w.open(key!("y"));
            w.close();
            w.close();
            w.open(key!("z"));
            w.close();
            w.string(key!("c"), "d");
            w.open(key!("e"));
            w.open(key!("f"));
            w.number(key!("g"), 1);
            w.close();
            w.open(key!("h"));
            w.close();
            w.close();
            w.open(key!("i"));
        });
        assert_eq!(json, r#"{"a":"b","c":"d","e":{"f":{"g":1}}}"#);
    }

    #[test]
    fn nested_members_and_commas() {
        let json = render(|w| {
            w.string(key!("first"), "x\"y");
            w.open(key!("http"));
            w.open(key!("request"));
            w.string(key!("method"), "GET");
            w.close();
            w.string(key!("version"), "1.1");
            w.open(key!("response"));
            w.number(key!("status_code"), 200);
            w.close();
            w.close();
            w.raw(key!("tags"), br#"["t"]"#);
        });
        assert_eq!(
            json,
            r#"{"first":"x\"y","http":{"request":{"method":"GET"},"version":"1.1","response":{"status_code":200}},"tags":["t"]}"#
        );
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
    }

    #[test]
    fn finish_closes_open_objects() {
        let json = render(|w| {
            w.open(key!("a"));
            w.open(key!("b"));
            w.number(key!("c"), 1);
        });
        assert_eq!(json, r#"{"a":{"b":{"c":1}}}"#);
    }

    proptest::proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_does(value in "\\PC*|[\\x00-\\x7f]*") {
            let mut ours = Vec::new();
            write_json_string(&mut ours, &value);
            proptest::prop_assert_eq!(json_string_len(&value), ours.len());
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&value).unwrap());
        }
    }

    #[test]
    fn every_escape_at_every_position_of_the_8_byte_scan() {
        for special in ['"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}', 'é', ' '] {
            for length in 0..20 {
                for at in 0..length {
                    let value: String = (0..length).map(|i| if i == at { special } else { 'a' }).collect();
                    let mut ours = Vec::new();
                    write_json_string(&mut ours, &value);
                    assert_eq!(json_string_len(&value), ours.len(), "{value:?}");
                    assert_eq!(
                        String::from_utf8(ours).unwrap(),
                        serde_json::to_string(&value).unwrap(),
                        "{value:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped() {
        let json = render(|w| w.string(key!("s"), "tab\there \u{1} \\ \"q\" ✓"));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["s"], "tab\there \u{1} \\ \"q\" ✓");
    }
}
