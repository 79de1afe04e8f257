//! Matching one log line against a compiled [`LogFormat`], without copying and without backtracking.
//!
//! Fields are read left to right. A field ends where the literal after it next matches:
//! - a quoted field (`"%r"`) ends at the first `"` that Apache did not escape and that the rest of
//!   the literal follows (so a stray, unescaped quote from another writer does not cut it short);
//! - `%t` is its own `[...]`;
//! - an unquoted request header (`%{X-Forwarded-For}i`) may be a `, `-separated list: a candidate
//!   end right after a comma is skipped;
//! - any other unquoted field ends at the first match of the literal; the last field takes the rest.
//!
//! Each field is looked at a bounded number of times, so the cost is linear in the line length.

use std::borrow::Cow;

use super::escape::{as_logged, unescape_field, unescape_json_field};
use super::format::{Directive, Escape, Item, LogFormat, Server, UpstreamField};
use super::request::{RequestLine, UrlParts, http_version};
use super::time::{EpochUnit, Timestamp, parse_u64};

/// What one access-log line says, borrowed from the line where possible. `None` is absent or `-`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    pub remote_host: Option<Cow<'a, str>>,
    pub remote_addr: Option<Cow<'a, str>>,
    pub user: Option<Cow<'a, str>>,
    pub time: Option<Timestamp>,
    pub request_line: Option<Cow<'a, str>>,
    /// `request_line` already read, by a reader that had to read it anyway (ALB's, for the
    /// URL's scheme and host): the document does not read it again.
    pub request: Option<RequestLine<'a>>,
    pub method: Option<Cow<'a, str>>,
    pub protocol: Option<Cow<'a, str>>,
    /// `%U`: already decoded by Apache.
    pub url_path: Option<Cow<'a, str>>,
    /// nginx's `$request_uri`: the request target as sent, used when there is no request line.
    pub request_target: Option<Cow<'a, str>>,
    /// `%q` without its `?`.
    pub query: Option<Cow<'a, str>>,
    pub final_status: Option<u16>,
    pub original_status: Option<u16>,
    /// `%b`/`%B`: the body.
    pub response_bytes: Option<u64>,
    /// `%O`: everything sent, headers included.
    pub bytes_sent: Option<u64>,
    pub request_bytes: Option<u64>,
    pub duration_nanos: Option<u64>,
    pub referrer: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub forwarded_for: Option<Cow<'a, str>>,
    pub server_name: Option<Cow<'a, str>>,
    pub requested_server_name: Option<Cow<'a, str>>,
    pub server_port: Option<u16>,
    /// Parts of a time split over several `%{..}t` fields, combined into `time` once the line is read.
    pub(crate) time_parts: TimeParts,
    /// mod_ssl's `SSL_PROTOCOL`: `TLSv1.3`.
    pub tls_protocol: Option<Cow<'a, str>>,
    /// mod_ssl's `SSL_CIPHER`.
    pub tls_cipher: Option<Cow<'a, str>>,
    /// Whose log the line is: `event.module` and `event.dataset`.
    pub server: Server,
    /// nginx's `$remote_port`.
    pub remote_port: Option<u16>,
    /// nginx's `$scheme`.
    pub scheme: Option<Cow<'a, str>>,
    /// nginx's `$request_id`.
    pub request_id: Option<Cow<'a, str>>,
    /// nginx's `$upstream_*` lists, as logged.
    pub upstream: Upstream<'a>,
    /// Every text value is borrowed from the line as logged (the line needed no decoding): set by
    /// the access-log parse, which knows it without looking at each value.
    pub(crate) values_borrowed: bool,
}

/// nginx's `$upstream_*` lists as logged: a value per upstream tried, `, ` between the servers of
/// one group and ` : ` between groups (after an internal redirect), `-` for none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Upstream<'a> {
    pub address: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    pub response_time: Option<Cow<'a, str>>,
    pub connect_time: Option<Cow<'a, str>>,
    pub header_time: Option<Cow<'a, str>>,
}

impl Upstream<'_> {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What the line's `%{..}t` fields say beyond the time itself.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeParts {
    /// `%{msec_frac}t`, `%{usec_frac}t`: added to the time of the line's other `%{..}t`.
    fraction_millis: Option<u32>,
    /// The time came from a strftime `%{..}t` without `%z`: a `%{%z}t` elsewhere gives its offset.
    without_offset: bool,
    /// A `%{%z}t` of its own.
    separate_offset_seconds: Option<i64>,
    /// nginx's `$msec` gave the time to the millisecond: `$time_local` and `$time_iso8601`, in
    /// whole seconds, do not replace it, wherever they are in the line.
    exact: bool,
}

impl TimeParts {
    /// `time` with the fraction and the separate offset applied.
    fn combine(self, time: Option<Timestamp>) -> Option<Timestamp> {
        let time = match (time, self.fraction_millis) {
            (Some(time), Some(fraction)) => time.plus_millis(fraction),
            (time, _) => time,
        };
        match (time, self.without_offset, self.separate_offset_seconds) {
            (Some(time), true, Some(offset)) => time.plus_seconds(-offset),
            (time, _, _) => time,
        }
    }
}

/// The request as a document reads it (the document writer and the shaping rules alike).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestParts<'a> {
    pub method: Option<&'a str>,
    /// `1.1`.
    pub version: Option<&'a str>,
    /// The request target, as sent.
    pub target: Option<&'a str>,
    /// A request line that is not `METHOD TARGET [HTTP/x]`, kept whole (`http.request.line`).
    pub unreadable_line: Option<&'a str>,
    /// The line logs no request line: `%U` and `%q` are the path and query.
    pub without_line: bool,
}

impl<'a> AccessRecord<'a> {
    /// The status to report: the final one when the format logs it.
    pub fn status(&self) -> Option<u16> {
        self.final_status.or(self.original_status)
    }

    /// The request line when the line logs one (%m, %H, %U and %q, nginx's `$request_method`,
    /// `$server_protocol`, `$request_uri`, `$uri` and `$args`, are used only without it).
    // Inlined: the document writer's hot path; as a call it cost 60 instructions a line.
    #[inline(always)]
    pub fn request_parts(&self) -> RequestParts<'_> {
        match self.request_line.as_deref() {
            Some(line) => match self.request.or_else(|| RequestLine::parse(line)) {
                Some(parsed) => RequestParts {
                    method: Some(parsed.method),
                    version: parsed.version,
                    target: Some(parsed.target),
                    ..RequestParts::default()
                },
                None => RequestParts { unreadable_line: Some(line), ..RequestParts::default() },
            },
            None => RequestParts {
                method: self.method.as_deref(),
                version: self.protocol.as_deref().and_then(http_version),
                target: self.request_target.as_deref(),
                unreadable_line: None,
                without_line: true,
            },
        }
    }

    /// Whether the values the shaping rules read as text (the request and its parts, the user
    /// agent, the server's name) are the line's own bytes: none had an escape undone (those are
    /// copies; the others borrow from what the reader read), and the request's path holds no
    /// percent-encoding, which `url.path` decodes (a query is read as logged).
    pub fn rule_values_as_logged(&self) -> bool {
        let target = self.request_line.as_deref().or(self.request_target.as_deref());
        // A `%` before the first `?` (if any): nearly every target has none, found in a register.
        let path_decoded = target.is_some_and(|target| {
            let target = target.as_bytes();
            find_byte_in_short(b'%', target)
                .is_some_and(|at| find_byte_in_short(b'?', &target[..at]).is_none())
        });
        !path_decoded && (self.values_borrowed || self.text_values_borrowed())
    }

    /// Whether the values the rules read as text are all borrowed, each looked at.
    fn text_values_borrowed(&self) -> bool {
        let fields = [
            &self.request_line,
            &self.method,
            &self.url_path,
            &self.request_target,
            &self.query,
            &self.user_agent,
            &self.server_name,
            &self.requested_server_name,
        ];
        fields.into_iter().all(|field| !matches!(field, Some(Cow::Owned(_))))
    }

    /// `url.path` (percent-decoded) and `url.query` of `request`: the target's, else, without a
    /// request line, `%U` (decoded by Apache already) and `%q`.
    #[inline]
    pub fn path_and_query<'r>(
        &'r self,
        request: &RequestParts<'r>,
    ) -> (Option<Cow<'r, str>>, Option<&'r str>) {
        match request.target {
            Some(target) => {
                let parts = UrlParts::of_target(target);
                (parts.path, parts.query)
            }
            None if request.without_line => {
                (self.url_path.as_deref().map(Cow::Borrowed), self.query.as_deref())
            }
            None => (None, None),
        }
    }
}

/// Why a line does not match its format. The text goes into the document's `error.message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("expected {expected} at byte {position}")]
    Expected { expected: String, position: usize },
    #[error("invalid {directive} value {value:?} at byte {position}: expected {expected}")]
    InvalidField { directive: &'static str, value: String, expected: &'static str, position: usize },
    #[error("{0}")]
    Other(String),
}

impl ParseError {
    /// How far into the line the match got, to report the most telling of several attempts:
    /// further is better, and at the same byte a bad value says more than a missing delimiter.
    pub fn progress(&self) -> (usize, bool) {
        match self {
            Self::Expected { position, .. } => (*position, false),
            Self::InvalidField { position, .. } => (*position, true),
            Self::Other(_) => (0, false),
        }
    }
}

/// Values quoted in error messages are cut to this many characters.
const MAX_QUOTED_VALUE: usize = 64;

pub(crate) fn quoted_excerpt(value: &[u8]) -> String {
    let text = super::escape::as_logged(value);
    match text.char_indices().nth(MAX_QUOTED_VALUE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

impl LogFormat {
    /// Matches `line` (without its line ending) against this format.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<AccessRecord<'a>, ParseError> {
        if !self.json_fields().is_empty() {
            return self.parse_json(line);
        }
        let items = self.items();
        let mut record = AccessRecord { server: self.server(), ..AccessRecord::default() };
        // A line that is UTF-8 without a backslash (nearly every line) needs no decoding: its
        // fields are borrowed as text, without a check per field.
        let plain_line = match memchr::memchr(b'\\', line) {
            None => std::str::from_utf8(line).ok(),
            Some(_) => None,
        };
        let pos = self.read_items(items.len(), line, plain_line, |_| true, &mut record)?;
        if pos != line.len() && !(self.ends_with_quoted_field() && is_trailing_fields(&line[pos..])) {
            return Err(ParseError::Expected { expected: "the end of the line".into(), position: pos });
        }
        record.time = record.time_parts.combine(record.time);
        record.values_borrowed = plain_line.is_some();
        Ok(record)
    }

    /// Reads into `record` (empty) the values of the fields `wanted` in `line`, as
    /// [`parse`](Self::parse) reads them, but only as far as the last item that logs one of them:
    /// the fields before it are found, not read, and what follows it is not looked at. False when
    /// the line does not match the format that far (its parse says why; `record` may then hold
    /// some values) or the format is a JSON one. The shaping rules decide the lines they drop by
    /// this, without reading them whole.
    pub fn skim<'a>(
        &self,
        line: &'a [u8],
        wanted: impl Fn(Directive) -> bool,
        record: &mut AccessRecord<'a>,
    ) -> bool {
        if !self.json_fields().is_empty() {
            return false;
        }
        record.server = self.server();
        let is_wanted = |item: &Item| matches!(item, Item::Field { directive, .. } if wanted(*directive));
        let Some(last) = self.items().iter().rposition(is_wanted) else { return true };
        // Each value decoded on its own: the same text as the whole line's parse gives.
        self.read_items(last + 1, line, None, wanted, record).is_ok()
    }

    /// Reads the format's first `count` items in `line`, the fields `wanted` into `record` (the
    /// others only found), as text borrowed from `plain_line` where the whole line needs no
    /// decoding, else each decoded on its own. Returns where the last item ends.
    // Inlined into `parse` and `skim`, each with its own `wanted`.
    #[inline(always)]
    fn read_items<'a>(
        &self,
        count: usize,
        line: &'a [u8],
        plain_line: Option<&'a str>,
        wanted: impl Fn(Directive) -> bool,
        record: &mut AccessRecord<'a>,
    ) -> Result<usize, ParseError> {
        let items = self.items();
        let mut pos = 0;
        for (index, item) in items[..count].iter().enumerate() {
            match item {
                Item::Literal(literal) => {
                    if !has_literal_at(line, pos, literal) {
                        return Err(ParseError::Expected {
                            expected: describe_literal(literal),
                            position: pos,
                        });
                    }
                    pos += literal.len();
                }
                Item::Field {
                    directive: directive @ (Directive::TimeFormat(_) | Directive::TimeFraction(_)),
                    ..
                } => {
                    pos = self.read_by_layout(*directive, line, pos, plain_line, record)?;
                }
                Item::Field { directive, quoted, shaped_next } => {
                    let followed_by = FollowedBy::of(items, index, *shaped_next);
                    let (start, end, after) = field_extent(line, pos, *directive, *quoted, followed_by)?;
                    if wanted(*directive) {
                        let field = Field {
                            raw: &line[start..end],
                            plain: plain_line.and_then(|l| l.get(start..end)),
                            escape: self.escape(),
                        };
                        assign(record, *directive, field, start)?;
                    }
                    pos = after;
                }
            }
        }
        Ok(pos)
    }

    /// A line of an nginx JSON format: each key the format names read as its variable, an empty
    /// value (nginx's escape=json writes an absent variable as `""`) as absent.
    #[inline(never)]
    fn parse_json<'a>(&self, line: &'a [u8]) -> Result<AccessRecord<'a>, ParseError> {
        let mut record = AccessRecord { server: self.server(), ..AccessRecord::default() };
        super::nginx::read_json_line(line, self.json_fields(), |directive, raw, position| {
            if raw.is_empty() {
                return Ok(());
            }
            if let Directive::TimeFormat(pattern) = directive {
                let read = self.time_pattern(pattern).read(raw, 0).filter(|(end, _)| *end == raw.len());
                let time = read.and_then(|(_, read)| read.time).ok_or_else(|| ParseError::InvalidField {
                    directive: "$time_iso8601",
                    value: quoted_excerpt(raw),
                    expected: "a time like 2026-11-21T05:37:48+00:00",
                    position,
                })?;
                if !record.time_parts.exact {
                    record.time = Some(time);
                }
                return Ok(());
            }
            let plain = match memchr::memchr(b'\\', raw) {
                None => std::str::from_utf8(raw).ok(),
                Some(_) => None,
            };
            assign(&mut record, directive, Field { raw, plain, escape: self.escape() }, position)
        })?;
        Ok(record)
    }

    /// Reads a field that is found by its own layout, not by the literal after it: a strftime
    /// `%{..}t`, or a fraction of a second (a fixed number of digits), so that another field may
    /// follow it directly. Returns where it ends; `-` is a time whose condition did not hold.
    #[inline(never)]
    fn read_by_layout<'a>(
        &self,
        directive: Directive,
        line: &'a [u8],
        pos: usize,
        plain_line: Option<&'a str>,
        record: &mut AccessRecord<'a>,
    ) -> Result<usize, ParseError> {
        let pattern = match directive {
            Directive::TimeFormat(pattern) => pattern,
            _ => {
                let width = if directive == Directive::TimeFraction(EpochUnit::Micros) { 6 } else { 3 };
                let width = if line.get(pos) == Some(&b'-') { 1 } else { width.min(line.len() - pos) };
                let end = pos + width;
                let field = Field {
                    raw: &line[pos..end],
                    plain: plain_line.and_then(|l| l.get(pos..end)),
                    escape: self.escape(),
                };
                assign(record, directive, field, pos)?;
                return Ok(end);
            }
        };
        let pattern = self.time_pattern(pattern);
        match pattern.read(line, pos) {
            Some((end, read)) => {
                // The request's start is its time; its end only stands in for a missing start.
                if read.time.is_some() && (record.time.is_none() || !pattern.end) && !record.time_parts.exact
                {
                    record.time = read.time;
                    record.time_parts.without_offset = read.offset_seconds.is_none();
                } else if read.time.is_none() && read.offset_seconds.is_some() {
                    record.time_parts.separate_offset_seconds = read.offset_seconds;
                }
                Ok(end)
            }
            None if line.get(pos) == Some(&b'-') => Ok(pos + 1),
            None => Err(ParseError::InvalidField {
                directive: "%{..}t",
                value: quoted_excerpt(&line[pos..line.len().min(pos + 40)]),
                expected: "a time in the layout of the format's %{..}t",
                position: pos,
            }),
        }
    }
}

/// Whether `literal` is at `at` in `line`, compared bytewise: literals are one to three bytes,
/// shorter than a `memcmp` call is worth.
#[inline]
fn has_literal_at(line: &[u8], at: usize, literal: &[u8]) -> bool {
    line.get(at..)
        .is_some_and(|rest| rest.len() >= literal.len() && rest.iter().zip(literal).all(|(a, b)| a == b))
}

fn describe_literal(literal: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(literal))
}

/// What comes after a field in the format: the literal that ends it, whether that literal ends the
/// format, and the field after the literal.
#[derive(Clone, Copy)]
struct FollowedBy<'f> {
    literal: Option<&'f [u8]>,
    literal_is_last: bool,
    field: Option<Directive>,
}

impl<'f> FollowedBy<'f> {
    /// What follows the field at `index` of `items`.
    #[inline]
    fn of(items: &'f [Item], index: usize, shaped_next: Option<Directive>) -> Self {
        let literal = match items.get(index + 1) {
            Some(Item::Literal(literal)) => Some(&**literal),
            _ => None,
        };
        Self { literal, literal_is_last: index + 2 == items.len(), field: shaped_next }
    }
}

/// Whether `rest` can start the value of a field of `directive`: used to tell which space ends a
/// decoded path, by the shape of the field after it. Fields of no particular shape take anything.
fn can_start(directive: Directive, rest: &[u8]) -> bool {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let ends_after = |n: usize| rest.get(n).is_none_or(|b| !b.is_ascii_alphanumeric());
    match directive {
        Directive::FinalStatus | Directive::OriginalStatus => {
            (digits == 3 && ends_after(3)) || (rest.starts_with(b"-") && ends_after(1))
        }
        Directive::ResponseBytes
        | Directive::BytesSent
        | Directive::RequestBytes
        | Directive::DurationMicros
        | Directive::DurationMillis
        | Directive::DurationSeconds
        | Directive::ServerPort
        | Directive::RemotePort => {
            (digits > 0 && (ends_after(digits) || rest.get(digits) == Some(&b'.'))) || rest.starts_with(b"-")
        }
        Directive::Protocol => rest.starts_with(b"HTTP/") || rest.starts_with(b"-"),
        Directive::Method => rest.first().is_some_and(u8::is_ascii_uppercase),
        Directive::Time | Directive::ConditionalTime => rest.starts_with(b"[") || rest.starts_with(b"-"),
        _ => true,
    }
}

/// Returns the field's value range and where the next item starts.
// Inlined into `parse` and `skim`: as a call it cost 400 instructions a line.
#[inline(always)]
fn field_extent(
    line: &[u8],
    pos: usize,
    directive: Directive,
    quoted: bool,
    followed_by: FollowedBy<'_>,
) -> Result<(usize, usize, usize), ParseError> {
    let FollowedBy { literal: next_literal, literal_is_last, .. } = followed_by;
    let rest = &line[pos..];
    // A `%t` whose condition did not hold is `-`, without brackets.
    let dash = directive == Directive::ConditionalTime && rest.starts_with(b"-");
    if matches!(directive, Directive::Time | Directive::ConditionalTime) && !dash {
        if rest.first() != Some(&b'[') {
            return Err(ParseError::Expected { expected: "`[` opening the time".into(), position: pos });
        }
        let close = memchr::memchr(b']', rest)
            .ok_or_else(|| ParseError::Expected { expected: "`]` closing the time".into(), position: pos })?;
        return Ok((pos + 1, pos + close, pos + close + 1));
    }
    let Some(literal) = next_literal else {
        return Ok((pos, line.len(), line.len()));
    };
    // Literals between fields are a few bytes (`" "`, `] "`): finding their first byte with memchr
    // and comparing the rest beats building a substring searcher for every field.
    // (LogFormat::compile never makes an empty literal.)
    let Some(&first) = literal.first() else { return Ok((pos, pos, pos)) };
    let mut search_from = pos;
    while let Some(offset) = find_byte(first, &line[search_from..]) {
        let end = search_from + offset;
        if !has_literal_at(line, end, literal) {
            search_from = end + 1;
            continue;
        }
        if ends_field(line, (pos, end), (directive, quoted), literal, &followed_by) {
            return Ok((pos, end, end));
        }
        if !quoted
            && !matches!(
                directive,
                Directive::ForwardedFor
                    | Directive::OtherRequestHeader
                    | Directive::IgnoredList
                    | Directive::Upstream(_)
            )
            && !directive.is_decoded_path()
            && !literal_is_last
        {
            break;
        }
        search_from = end + 1;
    }
    Err(ParseError::Expected { expected: describe_literal(literal), position: pos })
}

/// Whether the field that starts at `pos` ends at `end`, where its `literal` is (see
/// [`field_extent`]).
// Inlined: as a call it cost 340 instructions a line.
#[inline(always)]
fn ends_field(
    line: &[u8],
    (pos, end): (usize, usize),
    (directive, quoted): (Directive, bool),
    literal: &[u8],
    followed_by: &FollowedBy<'_>,
) -> bool {
    let FollowedBy { literal_is_last, field: next_field, .. } = *followed_by;
    let value = &line[pos..end];
    // The last quoted field may be followed by fields the format does not name (see
    // `is_trailing_fields`); anything else after it is not this format.
    let after = end + literal.len();
    if literal_is_last
        && after != line.len()
        && !(quoted && literal == b"\"" && is_trailing_fields(&line[after..]))
    {
        return false;
    }
    if quoted {
        // The quote is the field's end only if an even number of backslashes precede it.
        let backslashes = value.iter().rev().take_while(|&&b| b == b'\\').count();
        backslashes % 2 == 0
    } else if matches!(directive, Directive::ForwardedFor | Directive::OtherRequestHeader) {
        value.last() != Some(&b',')
    } else if let Some(next) = next_field {
        // A space in a decoded path is not its end when what follows cannot be the next field.
        can_start(next, &line[after..])
    } else if matches!(directive, Directive::IgnoredList | Directive::Upstream(_)) {
        // nginx joins the values of the upstreams tried with `, ` and of internal redirects
        // with ` : `.
        value.last() != Some(&b',') && value.last() != Some(&b':') && !line[end..].starts_with(b" : ")
    } else {
        true
    }
}

/// The first `needle` in `haystack`. Most fields end within a few bytes (a status, a size, a time,
/// an address): the first 16 bytes are looked at eight at a time in a register, a few instructions
/// where memchr's dispatch and set-up for a long haystack cost dozens; memchr takes the rest.
#[inline]
pub(super) fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    find_byte_within::<16>(needle, haystack)
}

/// [`find_byte`] that looks at the first `IN_REGISTER` bytes itself (a multiple of 8): more for
/// formats whose fields are longer (ALB's addresses, times, ARNs).
#[inline]
pub(super) fn find_byte_within<const IN_REGISTER: usize>(needle: u8, haystack: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < IN_REGISTER {
        let Some(Ok(word)) = haystack.get(at..at + 8).map(<[u8; 8]>::try_from) else { break };
        let found = bytes_equal(u64::from_le_bytes(word), needle);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr(needle, &haystack[at..]).map(|offset| at + offset)
}

/// The first `needle` in a short `haystack` (a URL, a referrer), eight bytes at a time in a register
/// and the last bytes as one overlapping word, with no call into memchr, whose set-up costs more
/// than such a text; memchr for a long one.
#[inline]
pub(crate) fn find_byte_in_short(needle: u8, haystack: &[u8]) -> Option<usize> {
    if haystack.len() > 128 {
        return memchr::memchr(needle, haystack);
    }
    if haystack.len() < 8 {
        return haystack.iter().position(|&byte| byte == needle);
    }
    let word_at = |at: usize| u64::from_le_bytes(haystack[at..at + 8].try_into().unwrap_or_default());
    let mut at = 0;
    while at + 8 <= haystack.len() {
        let found = bytes_equal(word_at(at), needle);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at == haystack.len() {
        return None;
    }
    // The last eight bytes; those below `at` were looked at already, and held no match (so no
    // false flag either).
    let start = haystack.len() - 8;
    let found = bytes_equal(word_at(start), needle) & (u64::MAX << ((at - start) * 8));
    (found != 0).then(|| start + (found.trailing_zeros() / 8) as usize)
}

/// The high bit set in each byte of `word` that equals `needle`, and perhaps in bytes above the
/// first one that does (a borrow can only flag bytes above a true match): the lowest flagged byte
/// is always a true match.
#[inline]
fn bytes_equal(word: u64, needle: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (u64::from(needle) * ONES);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first `a` or `b` in `haystack`, as [`find_byte`] finds one byte: the lowest byte flagged
/// for either needle is a true match (false flags only ever sit above a true one of their needle).
#[inline]
pub(super) fn find_byte2<const IN_REGISTER: usize>(a: u8, b: u8, haystack: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < IN_REGISTER {
        let Some(Ok(word)) = haystack.get(at..at + 8).map(<[u8; 8]>::try_from) else { break };
        let word = u64::from_le_bytes(word);
        let found = bytes_equal(word, a) | bytes_equal(word, b);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr2(a, b, &haystack[at..]).map(|offset| at + offset)
}

/// Whether `rest` (what follows a format that ends with a quoted field) is fields appended to it:
/// each a space and then a word, in which quoted parts (Apache escapes quotes inside them) may hold
/// spaces, as `"%{X-Forwarded-For}i"`, `%D`, `%{Host}i` or `X-Forwarded-For="%{X-Forwarded-For}i"`
/// appended to combined write them.
fn is_trailing_fields(rest: &[u8]) -> bool {
    let mut at = 0;
    while at < rest.len() {
        if rest[at] != b' ' {
            return false;
        }
        at += 1;
        let word_start = at;
        while let Some(&byte) = rest.get(at) {
            match byte {
                b' ' => break,
                b'"' => {
                    at += 1;
                    loop {
                        match rest.get(at) {
                            Some(b'\\') => at += 2,
                            Some(b'"') => break,
                            Some(_) => at += 1,
                            None => return false,
                        }
                    }
                    at += 1;
                }
                _ => at += 1,
            }
        }
        if at == word_start {
            return false;
        }
    }
    true
}

/// One field's bytes, and the same as text when the whole line needs no decoding.
#[derive(Clone, Copy)]
struct Field<'a> {
    raw: &'a [u8],
    plain: Option<&'a str>,
    escape: Escape,
}

impl<'a> Field<'a> {
    /// The value as text, the server's escapes undone (see [`unescape_field`]).
    fn text(self) -> Cow<'a, str> {
        match (self.plain, self.escape) {
            (Some(plain), _) => Cow::Borrowed(plain),
            (None, Escape::Backslash) => unescape_field(self.raw),
            (None, Escape::Json) => unescape_json_field(self.raw),
            (None, Escape::None) => as_logged(self.raw),
        }
    }

    /// The value as text, `None` when the field is empty.
    fn non_empty_text(self) -> Option<Cow<'a, str>> {
        (!self.raw.is_empty()).then(|| self.text())
    }

    /// The field without a leading ASCII `byte`, if it has one.
    fn without_prefix(self, byte: u8) -> Self {
        match self.raw.first() {
            Some(&first) if first == byte => Self {
                raw: &self.raw[1..],
                plain: self.plain.and_then(|text| text.get(1..)),
                escape: self.escape,
            },
            _ => self,
        }
    }
}

#[inline(always)]
fn assign<'a>(
    record: &mut AccessRecord<'a>,
    directive: Directive,
    field: Field<'a>,
    position: usize,
) -> Result<(), ParseError> {
    let raw = field.raw;
    if raw == b"-" {
        // CLF writes a body of zero bytes as `-` (%b); everywhere else `-` is "no value".
        if directive == Directive::ResponseBytes {
            record.response_bytes = Some(0);
        }
        return Ok(());
    }
    let invalid = |name: &'static str, expected: &'static str| ParseError::InvalidField {
        directive: name,
        value: quoted_excerpt(raw),
        expected,
        position,
    };
    match directive {
        Directive::RemoteHost => record.remote_host = field.non_empty_text(),
        Directive::RemoteAddr => record.remote_addr = field.non_empty_text(),
        // Apache logs an empty user name as `""`.
        Directive::RemoteUser if raw == b"\"\"" => record.user = Some(Cow::Borrowed("")),
        Directive::RemoteUser => record.user = field.non_empty_text(),
        Directive::Time | Directive::ConditionalTime | Directive::TimeUnbracketed => {
            let time = Timestamp::parse_clf(raw)
                .ok_or_else(|| invalid("%t", "a time like 21/Nov/2026:05:37:48 +0000"))?;
            if !record.time_parts.exact {
                record.time = Some(time);
            }
        }
        Directive::TimeFraction(unit) => {
            let digits = match unit {
                EpochUnit::Micros => 6,
                _ => 3,
            };
            let fraction = (raw.len() == digits)
                .then(|| parse_u64(raw))
                .flatten()
                .ok_or_else(|| invalid("%{..._frac}t", "the digits of a fraction of a second"))?;
            let millis = if digits == 6 { fraction / 1000 } else { fraction };
            record.time_parts.fraction_millis = u32::try_from(millis).ok();
        }
        // Read from the line by its pattern (see `read_time`).
        Directive::TimeFormat(_) => {}
        Directive::EpochTime(unit) => {
            record.time =
                Some(Timestamp::parse_epoch(raw, unit).ok_or_else(|| invalid("%{..}t", "an epoch number"))?);
        }
        Directive::EpochSecondsFraction => {
            let nanos = parse_seconds_as_nanos(raw)
                .ok_or_else(|| invalid("$msec", "seconds since the epoch, like 1795239468.123"))?;
            record.time = Some(
                i64::try_from(nanos / 1_000_000)
                    .ok()
                    .and_then(Timestamp::from_unix_millis)
                    .ok_or_else(|| invalid("$msec", "seconds since the epoch, like 1795239468.123"))?,
            );
            record.time_parts.exact = true;
        }
        Directive::RequestTarget => record.request_target = field.non_empty_text(),
        Directive::RemotePort => {
            record.remote_port = Some(
                parse_u64(raw)
                    .and_then(|port| u16::try_from(port).ok())
                    .ok_or_else(|| invalid("$remote_port", "a port number"))?,
            );
        }
        Directive::Scheme => record.scheme = field.non_empty_text(),
        Directive::RequestId => record.request_id = field.non_empty_text(),
        Directive::Upstream(which) => {
            let value = field.non_empty_text();
            let upstream = &mut record.upstream;
            match which {
                UpstreamField::Address => upstream.address = value,
                UpstreamField::Status => upstream.status = value,
                UpstreamField::ResponseTime => upstream.response_time = value,
                UpstreamField::ConnectTime => upstream.connect_time = value,
                UpstreamField::HeaderTime => upstream.header_time = value,
            }
        }
        Directive::RequestLine => record.request_line = field.non_empty_text(),
        Directive::FinalStatus => {
            record.final_status =
                Some(parse_status(raw).ok_or_else(|| invalid("%>s", "a status code 100-999"))?)
        }
        Directive::OriginalStatus => {
            record.original_status =
                Some(parse_status(raw).ok_or_else(|| invalid("%s", "a status code 100-999"))?);
        }
        Directive::ResponseBytes => {
            record.response_bytes = Some(parse_u64(raw).ok_or_else(|| invalid("%b", "a byte count"))?);
        }
        Directive::BytesSent => {
            record.bytes_sent = Some(parse_u64(raw).ok_or_else(|| invalid("%O", "a byte count"))?)
        }
        Directive::RequestBytes => {
            record.request_bytes = Some(parse_u64(raw).ok_or_else(|| invalid("%I", "a byte count"))?)
        }
        Directive::DurationMicros => {
            let micros = parse_u64(raw).ok_or_else(|| invalid("%D", "microseconds"))?;
            record.duration_nanos =
                Some(micros.checked_mul(1_000).ok_or_else(|| invalid("%D", "microseconds"))?);
        }
        Directive::DurationMillis => {
            let millis = parse_u64(raw).ok_or_else(|| invalid("%{ms}T", "milliseconds"))?;
            record.duration_nanos =
                Some(millis.checked_mul(1_000_000).ok_or_else(|| invalid("%{ms}T", "milliseconds"))?);
        }
        Directive::DurationSeconds => {
            record.duration_nanos =
                Some(parse_seconds_as_nanos(raw).ok_or_else(|| invalid("%T", "seconds"))?);
        }
        Directive::ServerName => record.server_name = field.non_empty_text(),
        Directive::RequestedServerName => record.requested_server_name = field.non_empty_text(),
        Directive::ServerPort => {
            record.server_port = Some(
                parse_u64(raw)
                    .and_then(|port| u16::try_from(port).ok())
                    .ok_or_else(|| invalid("%p", "a port number"))?,
            );
        }
        Directive::UrlPath => record.url_path = field.non_empty_text(),
        // `%U%q` (and nginx's `$uri$is_args$args`): split at the `?` that starts the query.
        Directive::UrlPathAndQuery | Directive::UrlPathAndArgs => {
            let query_at = memchr::memchr(b'?', raw).unwrap_or(raw.len());
            // nginx writes an absent `$args` as `-`, right after the path.
            let path_end = match (directive, query_at == raw.len(), raw.last()) {
                (Directive::UrlPathAndArgs, true, Some(b'-')) => raw.len() - 1,
                _ => query_at,
            };
            let part = |range: std::ops::Range<usize>| Field {
                raw: &raw[range.clone()],
                plain: field.plain.and_then(|text| text.get(range)),
                escape: field.escape,
            };
            record.url_path = part(0..path_end).non_empty_text();
            record.query = part(query_at..raw.len()).without_prefix(b'?').non_empty_text();
        }
        Directive::QueryString => {
            record.query = field.without_prefix(b'?').non_empty_text();
        }
        Directive::Method => record.method = field.non_empty_text(),
        Directive::Protocol => record.protocol = field.non_empty_text(),
        Directive::Referrer => record.referrer = field.non_empty_text(),
        // An empty User-Agent header is still what the client sent: kept as "".
        Directive::UserAgent => record.user_agent = Some(field.text()),
        Directive::ForwardedFor => record.forwarded_for = field.non_empty_text(),
        Directive::TlsProtocol => record.tls_protocol = field.non_empty_text(),
        Directive::TlsCipher => record.tls_cipher = field.non_empty_text(),
        Directive::OtherRequestHeader | Directive::Ignored | Directive::IgnoredList => {}
    }
    Ok(())
}

fn parse_status(raw: &[u8]) -> Option<u16> {
    let status = u16::try_from(parse_u64(raw)?).ok()?;
    (100..=999).contains(&status).then_some(status)
}

/// A field's value, `None` for `-` or nothing (the AWS logs' absent value).
pub(super) fn present(value: &str) -> Option<&str> {
    (value != "-" && !value.is_empty()).then_some(value)
}

/// Seconds as the AWS logs write them (`0.048`), kept as text for a JSON number: digits, an
/// optional fraction, no leading zero (JSON has none).
pub(super) fn json_seconds(value: &str) -> Option<&str> {
    // A byte loop: `split_once('.')` sets up a searcher, which costs more on these few bytes.
    let (whole, fraction) = match value.bytes().position(|b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, "0"),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = whole.len() > 1 && whole.starts_with('0');
    (digits(whole) && digits(fraction) && !leading_zero && value.len() <= 15).then_some(value)
}

/// `2`, `0.000153`: seconds, with up to nine fraction digits, to nanoseconds.
pub(super) fn parse_seconds_as_nanos(raw: &[u8]) -> Option<u64> {
    // Nanoseconds per unit of the fraction's last digit, by the fraction's length.
    const SCALE: [u64; 10] =
        [1_000_000_000, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let whole_digits = raw.iter().take_while(|b| b.is_ascii_digit()).count();
    if whole_digits == 0 {
        return None;
    }
    let nanos = parse_u64(&raw[..whole_digits])?.checked_mul(1_000_000_000)?;
    let fraction = match &raw[whole_digits..] {
        [] => return Some(nanos),
        [b'.', fraction @ ..] if !fraction.is_empty() && fraction.len() < SCALE.len() => fraction,
        _ => return None,
    };
    let mut value = 0;
    for &byte in fraction {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    nanos.checked_add(value * SCALE[fraction.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte2_finds_the_first_of_either_anywhere() {
        let haystack: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).chain(*b"\"x\\y\"").collect();
        for (a, b) in [(b'"', b'\\'), (b'z', b'a'), (b'q', b'q'), (0x20, 0x21), (0x00, 0xff)] {
            for start in 0..haystack.len() {
                let hay = &haystack[start..];
                assert_eq!(find_byte2::<16>(a, b, hay), memchr::memchr2(a, b, hay), "{a} {b} from {start}");
                assert_eq!(find_byte2::<64>(a, b, hay), memchr::memchr2(a, b, hay), "{a} {b} from {start}");
            }
        }
        let tricky = [0x80, 0x21, 0x1f, 0x20, 0x22, 0x5c, 0xff, 0x01, 0x00, 0x20, 0x7f, 0x23, 0x5b];
        for (a, b) in [(0x22, 0x5c), (0x20, 0x00), (0xff, 0x80), (0x01, 0x21)] {
            for start in 0..tricky.len() {
                assert_eq!(find_byte2::<8>(a, b, &tricky[start..]), memchr::memchr2(a, b, &tricky[start..]));
            }
        }
    }

    #[test]
    fn find_byte_in_short_finds_the_first_match_anywhere() {
        for len in 0..150 {
            for at in 0..len {
                let mut text = vec![b'a'; len];
                text[at] = b'?';
                if at + 3 < len {
                    text[at + 3] = b'?';
                }
                assert_eq!(find_byte_in_short(b'?', &text), Some(at), "{len} {at}");
            }
            assert_eq!(find_byte_in_short(b'?', &vec![b'a'; len]), None, "{len}");
        }
        // Bytes that flag falsely next to a match: 0x3e ('>') just under '?' (0x3f), high bytes.
        let text = b">>>>>>>>>\xbf\xff?";
        assert_eq!(find_byte_in_short(b'?', text), Some(11));
    }

    #[test]
    fn find_byte_finds_the_first_match_anywhere() {
        let haystack: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
        for needle in 0..=255u8 {
            for start in 0..haystack.len() {
                let hay = &haystack[start..];
                assert_eq!(find_byte(needle, hay), memchr::memchr(needle, hay), "{needle} from {start}");
                assert_eq!(
                    find_byte_within::<48>(needle, hay),
                    memchr::memchr(needle, hay),
                    "{needle} from {start}"
                );
            }
        }
        // Bytes just above and below the needle, and 0x80 bytes, next to it.
        let tricky = [0x80, 0x21, 0x1f, 0x20, 0x20, 0xff, 0x01, 0x00, 0x20, 0x7f];
        for needle in [0x20, 0x00, 0xff, 0x80, 0x01] {
            for start in 0..tricky.len() {
                assert_eq!(find_byte(needle, &tricky[start..]), memchr::memchr(needle, &tricky[start..]));
            }
        }
    }

    #[test]
    fn seconds_with_a_fraction_become_nanoseconds() {
        for (text, nanos) in [
            ("0.005", Some(5_000_000)),
            ("12", Some(12_000_000_000)),
            ("1.123456789", Some(1_123_456_789)),
            ("0.1", Some(100_000_000)),
            ("18446744073.709551615", Some(u64::MAX)),
            ("18446744073.709551616", None),
            ("1.1234567891", None),
            ("5.", None),
            (".5", None),
            ("", None),
            ("1.2.3", None),
            ("-", None),
            ("1e3", None),
        ] {
            assert_eq!(parse_seconds_as_nanos(text.as_bytes()), nanos, "{text:?}");
        }
    }

    /// Apache's `%U` and nginx's `$uri` are written decoded: a space in the path is not its end
    /// when what follows cannot be the next field.
    #[test]
    fn decoded_paths_with_spaces() {
        let cases = [
            ("%h %U%q %>s", "1.2.3.4 /a b.html?q=1 200", "/a b.html", Some("q=1"), Some(200)),
            ("%h %U %>s %b", "1.2.3.4 /my docs/a b.pdf 404 -", "/my docs/a b.pdf", None, Some(404)),
            ("\"%m %U%q %H\" %>s", "\"GET /a b.html HTTP/1.1\" 200", "/a b.html", None, Some(200)),
            ("%h %U%q %>s", "1.2.3.4 /plain 301", "/plain", None, Some(301)),
        ];
        for (format, line, path, query, status) in cases {
            let format = LogFormat::compile(format).unwrap();
            let record = format.parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(record.url_path.as_deref(), Some(path), "{line}");
            assert_eq!(record.query.as_deref(), query, "{line}");
            assert_eq!(record.status(), status, "{line}");
        }
        let nginx =
            LogFormat::compile_nginx("'$remote_addr $uri$is_args$args $status $body_bytes_sent'").unwrap();
        let record = nginx.parse(b"1.2.3.4 /a b.html- 200 5").unwrap();
        assert_eq!((record.url_path.as_deref(), record.query.as_deref()), (Some("/a b.html"), None));
        // What still cannot be told apart stays a parse failure, not a wrong document.
        assert!(LogFormat::compile("%h %U %u %>s").unwrap().parse(b"1.2.3.4 /a b c 200").is_err());
    }

    /// What Apache 2.4 writes and older versions of this parser refused.
    #[test]
    fn formats_apache_accepts() {
        let millis = |text: &str| {
            let pattern = super::super::strftime::TimePattern::compile("%Y-%m-%dT%H:%M:%S%z", false).unwrap();
            pattern.read(text.as_bytes(), 0).unwrap().1.time.unwrap().unix_millis()
        };
        type Show = fn(&AccessRecord<'_>) -> String;
        let cases: [(&str, &str, &str, Show); 12] = [
            (
                "begin wins over end",
                "%{end:%F %T}t %{begin:%F %T}t",
                "2026-11-21 05:00:02 2026-11-21 05:00:01",
                |r| format!("{:?}", r.time.map(Timestamp::unix_millis)),
            ),
            ("end alone", "%h %{end:%F %T}t", "1.2.3.4 2026-11-21 05:00:02", |r| {
                format!("{:?}", r.time.map(Timestamp::unix_millis))
            }),
            (
                "split time and a separate offset",
                "%{%Y-%m-%dT%H:%M:%S}t.%{usec_frac}t%{%z}t",
                "2019-05-06T12:09:43.123456-0400",
                |r| format!("{:?}", r.time.map(Timestamp::unix_millis)),
            ),
            ("seconds and milliseconds", "%{sec}t.%{msec_frac}t", "1795239468.123", |r| {
                format!("{:?}", r.time.map(Timestamp::unix_millis))
            }),
            ("conditional time not met", "%h %200t %>s", "1.2.3.4 - 404", |r| {
                format!("{:?} {:?}", r.time, r.final_status)
            }),
            ("empty user", "%h %u", r#"1.2.3.4 """#, |r| format!("{:?}", r.user)),
            ("%U%q", "%h %U%q %>s", "1.2.3.4 /a/b?c=1&d 200", |r| format!("{:?} {:?}", r.url_path, r.query)),
            ("%U%q without a query", "%h %U%q %>s", "1.2.3.4 /a/b 200", |r| {
                format!("{:?} {:?}", r.url_path, r.query)
            }),
            ("modifiers in any order", "%>{s}!200T %{s}!200>T %{MS}T", "1 2 3", |r| {
                format!("{:?}", r.duration_nanos)
            }),
            (
                "mod_ssl",
                "%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{version}c",
                "TLSv1.3 TLS_AES_256_GCM_SHA384 x",
                |r| format!("{:?} {:?}", r.tls_protocol, r.tls_cipher),
            ),
            ("%{}t is %t", "%h %{}t", "1.2.3.4 [21/Nov/2026:05:37:48 +0000]", |r| {
                format!("{:?}", r.time.map(Timestamp::unix_millis))
            }),
            (
                "strftime with spaces then a field",
                "%{%d/%b/%Y %T}t %h",
                "21/Nov/2026 05:37:48 1.2.3.4",
                |r| format!("{:?} {:?}", r.time.map(Timestamp::unix_millis), r.remote_host),
            ),
        ];
        let expected = [
            format!("Some({})", millis("2026-11-21T05:00:01+0000")),
            format!("Some({})", millis("2026-11-21T05:00:02+0000")),
            format!("Some({})", millis("2019-05-06T16:09:43+0000") + 123),
            "Some(1795239468123)".to_owned(),
            "None Some(404)".to_owned(),
            r#"Some("")"#.to_owned(),
            r#"Some("/a/b") Some("c=1&d")"#.to_owned(),
            r#"Some("/a/b") None"#.to_owned(),
            "Some(3000000)".to_owned(),
            r#"Some("TLSv1.3") Some("TLS_AES_256_GCM_SHA384")"#.to_owned(),
            format!("Some({})", millis("2026-11-21T05:37:48+0000")),
            format!("Some({}) Some(\"1.2.3.4\")", millis("2026-11-21T05:37:48+0000")),
        ];
        for ((name, format, line, show), expected) in cases.into_iter().zip(expected) {
            let record = parse(format, line).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(show(&record), expected, "{name}");
        }
    }

    #[test]
    fn trailing_fields() {
        for (rest, expected) in [
            ("", true),
            (r#" "-""#, true),
            (r#" "-" 545 www.example.test "a \"q\" b""#, true),
            (" 545", true),
            (r#" a"b"#, false),
            (r#" X-Forwarded-For="10.0.0.2, 10.0.0.1" Host=x"#, true),
            ("  545", false),
            (r#" "open"#, false),
            (" ", false),
        ] {
            assert_eq!(is_trailing_fields(rest.as_bytes()), expected, "{rest:?}");
        }
    }

    #[test]
    fn literal_comparison() {
        assert!(has_literal_at(b"a\" \"b", 1, b"\" \""));
        assert!(!has_literal_at(b"a\" \"b", 1, b"\"  "));
        assert!(has_literal_at(b"ab", 2, b""));
        assert!(!has_literal_at(b"a\"", 1, b"\" \""), "runs past the end");
        assert!(!has_literal_at(b"a", 3, b"x"), "starts past the end");
    }
    use crate::parse::format::{COMBINED, COMMON, VHOST_COMBINED};

    fn parse<'a>(format: &str, line: &'a str) -> Result<AccessRecord<'a>, ParseError> {
        LogFormat::compile(format).unwrap().parse(line.as_bytes())
    }

    /// The values the shaping rules can test, as a record holds them.
    #[allow(clippy::type_complexity)]
    fn rule_values<'r>(record: &'r AccessRecord<'_>) -> [Option<&'r str>; 11] {
        [
            record.request_line.as_deref(),
            record.method.as_deref(),
            record.url_path.as_deref(),
            record.request_target.as_deref(),
            record.query.as_deref(),
            record.remote_host.as_deref(),
            record.remote_addr.as_deref(),
            record.forwarded_for.as_deref(),
            record.user_agent.as_deref(),
            record.server_name.as_deref(),
            record.requested_server_name.as_deref(),
        ]
    }

    #[test]
    fn a_skim_reads_each_field_it_wants_as_the_parse_does() {
        // (format, nginx, line): escapes, a byte that is not UTF-8, a decoded path with a space,
        // fields appended to combined, nginx's `$request_uri` and `$args`, a server name first.
        let cases: &[(&str, bool, &[u8])] = &[
            (COMBINED, false, br#"203.0.113.9 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "-" "Mozilla/4.08""#),
            (COMBINED, false, br#"::1 - - [10/Oct/2000:13:55:36 +0000] "GET /q\"x\\ HTTP/1.1" 404 1 "-" "ua \"x\"""#),
            (COMBINED, false, b"10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 1 \"-\" \"kube-probe/1.29\xff\""),
            (COMBINED, false, br#"10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /health HTTP/1.1" 200 1 "-" "ELB-HealthChecker/2.0" 532 "x.example""#),
            (VHOST_COMBINED, false, br#"shop.example:443 10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "OPTIONS * HTTP/1.1" 204 0 "-" "curl/8""#),
            (r#"%h %t "%m %U%q %H" %>s "%{User-Agent}i" %{X-Forwarded-For}i"#, false, br#"10.0.0.1 [10/Oct/2000:13:55:36 +0000] "GET /my docs/a b?t=1 HTTP/1.1" 200 "ua" 198.51.100.7, 10.0.0.2"#),
            ("$remote_addr [$time_local] \"$request_method $request_uri\" $status $args \"$http_user_agent\" $host", true, br#"10.0.0.1 [10/Oct/2000:13:55:36 +0000] "GET /p?q=1" 200 q=1 "ua" www.example"#),
        ];
        let directives = [
            Directive::RequestLine,
            Directive::Method,
            Directive::UrlPath,
            Directive::UrlPathAndQuery,
            Directive::UrlPathAndArgs,
            Directive::QueryString,
            Directive::RequestTarget,
            Directive::FinalStatus,
            Directive::RemoteHost,
            Directive::RemoteAddr,
            Directive::ForwardedFor,
            Directive::UserAgent,
            Directive::ServerName,
            Directive::RequestedServerName,
        ];
        for (source, nginx, line) in cases {
            let format =
                if *nginx { LogFormat::compile_nginx(source) } else { LogFormat::compile(source) }.unwrap();
            let parsed = format.parse(line).unwrap_or_else(|e| panic!("{source}: {e}"));
            let mut every_field = AccessRecord::default();
            assert!(format.skim(line, |_| true, &mut every_field), "{source}");
            assert_eq!(rule_values(&every_field), rule_values(&parsed), "{source}");
            assert_eq!(every_field.status(), parsed.status(), "{source}");
            for wanted in directives {
                let mut skimmed = AccessRecord::default();
                assert!(format.skim(line, |d| d == wanted, &mut skimmed), "{source}: {wanted:?}");
                for (index, (skim, whole)) in
                    rule_values(&skimmed).iter().zip(rule_values(&parsed)).enumerate()
                {
                    assert!(skim.is_none() || *skim == whole, "{source}: {wanted:?}, value {index}");
                }
                assert!(skimmed.status().is_none() || skimmed.status() == parsed.status(), "{source}");
            }
        }
    }

    #[test]
    fn the_rules_values_are_as_logged_unless_decoded() {
        let as_logged = |line: &str| parse(COMBINED, line).unwrap().rule_values_as_logged();
        let line = |request: &str, agent: &str| {
            format!(r#"10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "{request}" 200 1 "-" "{agent}""#)
        };
        assert!(as_logged(&line("GET /health HTTP/1.1", "kube-probe/1.29")));
        // A query is read as logged; a path is percent-decoded, a value unescaped.
        assert!(as_logged(&line("GET /search?q=caf%C3%A9 HTTP/1.1", "ua")));
        assert!(!as_logged(&line("GET /h%65alth HTTP/1.1", "ua")));
        assert!(!as_logged(&line("GET /health HTTP/1.1", r#"probe \"x\""#)));
        // An escape in a field the rules do not read: each value is looked at.
        let escaped_referrer =
            r#"10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "http://a/\"" "ua""#;
        assert!(as_logged(escaped_referrer));
    }

    #[test]
    fn a_skim_reads_no_further_than_the_fields_it_wants() {
        let format = LogFormat::compile(COMBINED).unwrap();
        // A status that is no status: the parse fails there, a skim for the request stops before.
        let line = br#"10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /health HTTP/1.1" 2OO 1 "-" "ua""#;
        assert!(format.parse(line).is_err());
        let mut record = AccessRecord::default();
        assert!(format.skim(line, |d| d == Directive::RequestLine, &mut record));
        assert_eq!(record.request_line.as_deref(), Some("GET /health HTTP/1.1"));
        assert_eq!(record.user_agent, None, "the user agent is not read");
        assert!(!format.skim(line, |d| d == Directive::FinalStatus, &mut AccessRecord::default()));
        // A line that is not this format before the request: no skim.
        let other = br#"10.0.0.1 [10/Oct/2000:13:55:36 +0000] "GET /health HTTP/1.1" 200 1"#;
        assert!(!format.skim(other, |d| d == Directive::RequestLine, &mut AccessRecord::default()));
        // A JSON format is not skimmed.
        let json = LogFormat::compile_nginx(r#"escape=json {"request":"$request"}"#).unwrap();
        assert!(!json.skim(br#"{"request":"GET / HTTP/1.1"}"#, |_| true, &mut AccessRecord::default()));
    }

    #[test]
    fn combined_line() {
        let record = parse(
            COMBINED,
            r#"203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x.test/" "Mozilla/4.08""#,
        )
        .unwrap();
        assert_eq!(record.remote_host.as_deref(), Some("203.0.113.9"));
        assert_eq!(record.user.as_deref(), Some("alice"));
        assert_eq!(record.request_line.as_deref(), Some("GET /a.gif HTTP/1.0"));
        assert_eq!(record.status(), Some(200));
        assert_eq!(record.response_bytes, Some(2326));
        assert_eq!(record.referrer.as_deref(), Some("http://x.test/"));
        assert_eq!(record.user_agent.as_deref(), Some("Mozilla/4.08"));
        assert_eq!(record.time.map(|t| t.unix_millis()), Some(971_211_336_000));
    }

    #[test]
    fn table_of_edge_cases() {
        struct Case {
            name: &'static str,
            format: &'static str,
            line: &'static str,
            check: fn(&AccessRecord<'_>) -> bool,
        }
        let cases = [
            Case {
                name: "dash everywhere",
                format: COMBINED,
                line: r#"- - - [10/Oct/2000:13:55:36 -0700] "-" 400 - "-" "-""#,
                check: |r| {
                    r.remote_host.is_none()
                        && r.request_line.is_none()
                        && r.response_bytes == Some(0)
                        && r.user_agent.is_none()
                },
            },
            Case {
                name: "escaped quote before the closing quote",
                format: COMBINED,
                line: r#"::1 - - [10/Oct/2000:13:55:36 +0000] "GET /q\"x\\ HTTP/1.1" 404 1 "-" "ua \"x\"""#,
                check: |r| {
                    r.request_line.as_deref() == Some(r#"GET /q"x\ HTTP/1.1"#)
                        && r.user_agent.as_deref() == Some(r#"ua "x""#)
                },
            },
            Case {
                name: "unescaped quote inside the last field (not Apache, still read)",
                format: COMBINED,
                line: r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "a "b" c""#,
                check: |r| r.user_agent.as_deref() == Some(r#"a "b" c"#),
            },
            Case {
                name: "unescaped quote inside the request line",
                format: COMBINED,
                line: r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a"b HTTP/1.1" 200 1 "-" "ua""#,
                check: |r| r.request_line.as_deref() == Some(r#"GET /a"b HTTP/1.1"#),
            },
            Case {
                name: "empty user agent is kept empty",
                format: COMBINED,
                line: r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" """#,
                check: |r| r.user_agent.as_deref() == Some(""),
            },
            Case {
                name: "hostname client and user with escapes",
                format: COMMON,
                line: r#"monitoring-server - bob\x20smith [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 -"#,
                check: |r| {
                    r.remote_host.as_deref() == Some("monitoring-server")
                        && r.user.as_deref() == Some("bob smith")
                },
            },
            Case {
                name: "vhost with port",
                format: VHOST_COMBINED,
                line: r#"shop.example.test:443 2a02:cf40::1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/2.0" 200 512 "-" "ua""#,
                check: |r| {
                    r.server_name.as_deref() == Some("shop.example.test")
                        && r.server_port == Some(443)
                        && r.remote_host.as_deref() == Some("2a02:cf40::1")
                },
            },
            Case {
                name: "unquoted forwarded-for chain",
                format: r#"%{X-Forwarded-For}i %h %l %u %t "%r" %>s %b"#,
                line: r#"unknown, [2001:db8::2]:4711, 203.0.113.9:8080 10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
                check: |r| {
                    r.forwarded_for.as_deref() == Some("unknown, [2001:db8::2]:4711, 203.0.113.9:8080")
                        && r.remote_host.as_deref() == Some("10.0.0.1")
                },
            },
            Case {
                name: "durations and epoch time",
                format: "%h %{msec}t %D %T",
                line: "1.2.3.4 1795239468123 1500 2",
                check: |r| {
                    r.duration_nanos == Some(2_000_000_000)
                        && r.time.map(|t| t.unix_millis()) == Some(1_795_239_468_123)
                },
            },
            Case {
                name: "nginx-style fractional seconds",
                format: "%h %T",
                line: "1.2.3.4 0.153",
                check: |r| r.duration_nanos == Some(153_000_000),
            },
            Case {
                name: "query string without its question mark",
                format: "%h %U %q",
                line: "1.2.3.4 /a ?c=1",
                check: |r| r.url_path.as_deref() == Some("/a") && r.query.as_deref() == Some("c=1"),
            },
        ];
        for case in cases {
            match parse(case.format, case.line) {
                Ok(record) => assert!((case.check)(&record), "{}: {record:?}", case.name),
                Err(error) => panic!("{}: {error}", case.name),
            }
        }
    }

    #[test]
    fn mismatches_say_where_and_what() {
        let cases = [
            (
                "common line against combined",
                COMBINED,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
                "expected \" \\\"\"",
            ),
            (
                "status not a number",
                COMMON,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" abc 1"#,
                "invalid %>s value \"abc\"",
            ),
            (
                "impossible date",
                COMMON,
                r#"1.2.3.4 - - [31/Feb/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
                "invalid %t value",
            ),
            (
                "no time bracket",
                COMMON,
                r#"1.2.3.4 - - 10/Oct/2000 "GET / HTTP/1.1" 200 1"#,
                "`[` opening the time",
            ),
            (
                "trailing garbage",
                COMMON,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 x"#,
                "invalid %b value \"1 x\"",
            ),
            (
                "bytes overflow",
                COMMON,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 99999999999999999999999"#,
                "invalid %b",
            ),
            ("empty line", COMMON, "", "expected \" \""),
        ];
        for (name, format, line, message) in cases {
            let error = parse(format, line).unwrap_err();
            assert!(error.to_string().contains(message), "{name}: {error}");
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let line =
            format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" {} 1"#, "9".repeat(500));
        let error = parse(COMMON, &line).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
        assert!(error.contains('…'));
    }
}
