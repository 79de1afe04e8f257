//! Apache `LogFormat` strings, compiled once into a list of literals and fields.
//!
//! The directives are mod_log_config's. Those the document uses are mapped to a [`Directive`];
//! the rest (`%A`, `%P`, `%X`, `%{NAME}o`, `%{NAME}e`, ...) are matched and skipped, so any format a
//! server really writes can be read. Condition modifiers (`%400,501{User-agent}i`, `%!200s`) are
//! accepted, in any order with `<`, `>` and the `{argument}`, and ignored: when they do not hold,
//! Apache writes `-`, which is an absent value anyway.

use std::fmt;

use super::nginx::{Body, JsonField};
use super::strftime::TimePattern;
use super::time::EpochUnit;

/// What a field of the line feeds in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `%h`: remote host name or address.
    RemoteHost,
    /// `%a`, `%{c}a`: remote address; used as the client when there is no `%h`.
    RemoteAddr,
    /// `%u`: the authenticated user.
    RemoteUser,
    /// `%t`: `[dd/Mon/yyyy:HH:MM:SS +zzzz]`, brackets included.
    Time,
    /// `%t` with a condition (`%200t`): the same, or `-` when the condition did not hold.
    ConditionalTime,
    /// `%{%d/%b/%Y:%H:%M:%S %z}t`: the same text without brackets.
    TimeUnbracketed,
    /// `%{sec}t`, `%{msec}t`, `%{usec}t`.
    EpochTime(EpochUnit),
    /// `%{msec_frac}t`, `%{usec_frac}t`: the fraction of the second that another `%{..}t` gives.
    TimeFraction(EpochUnit),
    /// `%{FORMAT}t` with strftime conversions: the index of its pattern in the format.
    TimeFormat(u8),
    /// `%r`: the first line of the request.
    RequestLine,
    /// `%>s`: the final status.
    FinalStatus,
    /// `%s`, `%<s`: the original status (used when there is no `%>s`).
    OriginalStatus,
    /// `%b` (CLF: `-` for zero), `%B`: response body size.
    ResponseBytes,
    /// `%O`: bytes sent, headers included; the body size when the format has no `%b`.
    BytesSent,
    /// `%I`: bytes received, headers included.
    RequestBytes,
    /// `%D`, `%{us}T`: microseconds.
    DurationMicros,
    /// `%{ms}T`: milliseconds.
    DurationMillis,
    /// `%T`, `%{s}T`: seconds (a decimal fraction is accepted too, as nginx writes it).
    DurationSeconds,
    /// `%v`: the canonical server name.
    ServerName,
    /// `%V`: the server name by `UseCanonicalName`.
    RequestedServerName,
    /// `%p`, `%{canonical}p`, `%{local}p`: the server port.
    ServerPort,
    /// `%U`: the URL path, already decoded by Apache.
    UrlPath,
    /// `%q`: the query string with its `?`, or empty.
    QueryString,
    /// `%U%q` with nothing between them: read as one field and split at the `?`.
    UrlPathAndQuery,
    /// `%m`: the request method.
    Method,
    /// `%H`: the request protocol.
    Protocol,
    /// `%{Referer}i`.
    Referrer,
    /// `%{User-Agent}i`.
    UserAgent,
    /// `%{X-Forwarded-For}i`.
    ForwardedFor,
    /// mod_ssl's `%{SSL_PROTOCOL}x`: `TLSv1.3`, `SSLv3`.
    TlsProtocol,
    /// mod_ssl's `%{SSL_CIPHER}x`: the OpenSSL cipher name.
    TlsCipher,
    /// Any other request header: its value may be a comma-and-space list.
    OtherRequestHeader,
    /// nginx `$uri$is_args$args`: the decoded path, then `?` and the query, or `-` (the absent
    /// `$args`) when there is none.
    UrlPathAndArgs,
    /// nginx `$request_uri`: the request target as sent (path and query, not decoded).
    RequestTarget,
    /// nginx `$msec`: seconds since the epoch with a fraction, `1795239468.123`.
    EpochSecondsFraction,
    /// nginx `$remote_port`: the client's TCP port.
    RemotePort,
    /// nginx `$scheme`: `http` or `https`.
    Scheme,
    /// nginx `$request_id`: the request's unique id.
    RequestId,
    /// nginx's `$upstream_addr`, `$upstream_status`, `$upstream_response_time`,
    /// `$upstream_connect_time`, `$upstream_header_time`: a value per upstream tried, `, ` and
    /// ` : ` separated.
    Upstream(UpstreamField),
    /// Another nginx variable that lists a value per upstream tried (`$upstream_*`); read past.
    IgnoredList,
    /// Matched and not used.
    Ignored,
}

/// How a server escapes the bytes it writes into a field, and so how they are read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Escape {
    /// Apache's `\"`, `\\`, `\n`..., `\xhh`; nginx's default `\xhh` is read the same way.
    #[default]
    Backslash,
    /// nginx `escape=json`: JSON string escapes (`\"`, `\\`, `\n`, `\u00hh`).
    Json,
    /// nginx `escape=none`: the bytes as they were, a backslash is a backslash.
    None,
}

/// The server whose log the format describes: `event.module` and `event.dataset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Server {
    #[default]
    Apache,
    Nginx,
    /// An Application Load Balancer (`aws.elb_logs`).
    AwsElb,
    /// A CloudFront distribution (`aws.cloudfront_logs`).
    CloudFront,
}

impl Directive {
    /// Apache's `%U` and nginx's `$uri` are written decoded (`/a%20b.html` logs `/a b.html`), so
    /// the literal after such a field may be inside it.
    pub(super) fn is_decoded_path(self) -> bool {
        matches!(self, Self::UrlPath | Self::UrlPathAndQuery | Self::UrlPathAndArgs)
    }
}

/// What an nginx `$upstream_*` list says, one value per upstream tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamField {
    Address,
    Status,
    ResponseTime,
    ConnectTime,
    HeaderTime,
}

/// One piece of a compiled format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Literal(Box<[u8]>),
    /// `shaped_next`: for a decoded path (`%U`, `$uri`), which may hold the literal after it, the
    /// field after that literal, whose shape tells which of the literal's matches ends the path.
    Field {
        directive: Directive,
        quoted: bool,
        shaped_next: Option<Directive>,
    },
}

/// A compiled `LogFormat` (or nginx `log_format`).
#[derive(Clone, Debug)]
pub struct LogFormat {
    items: Vec<Item>,
    time_patterns: Vec<TimePattern>,
    source: String,
    escape: Escape,
    server: Server,
    /// An nginx JSON format's keys: lines are read as JSON objects, not by `items`.
    json_fields: Vec<JsonField>,
}

/// Why a format string does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {position} of the format")]
pub struct FormatError {
    pub position: usize,
    pub reason: String,
}

pub const COMMON: &str = r#"%h %l %u %t "%r" %>s %b"#;
pub const COMBINED: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#;
pub const VHOST_COMBINED: &str = r#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#;

impl LogFormat {
    /// An Apache `LogFormat` string.
    pub fn compile(source: &str) -> Result<Self, FormatError> {
        let mut time_patterns = Vec::new();
        let pieces = tokenize(source.as_bytes(), &mut time_patterns)?;
        Self::from_pieces(&pieces, time_patterns, source, Escape::Backslash, Server::Apache)
    }

    /// An nginx `log_format`, as written in nginx.conf after the format's name.
    pub fn compile_nginx(source: &str) -> Result<Self, FormatError> {
        let mut time_patterns = Vec::new();
        match super::nginx::tokenize(source, &mut time_patterns)? {
            (escape, Body::Pieces(pieces)) => {
                Self::from_pieces(&pieces, time_patterns, source, escape, Server::Nginx)
            }
            (_, Body::Json(fields)) if fields.is_empty() => Err(FormatError {
                position: 0,
                reason: "the JSON format names no $variable as a value".into(),
            }),
            (escape, Body::Json(fields)) => Ok(Self {
                items: Vec::new(),
                time_patterns,
                source: source.to_owned(),
                escape,
                server: Server::Nginx,
                json_fields: fields,
            }),
        }
    }

    /// Whether `source` is an nginx `log_format` rather than an Apache `LogFormat`.
    pub fn is_nginx(source: &str) -> bool {
        super::nginx::looks_like_nginx(source)
    }

    fn from_pieces(
        pieces: &[Piece],
        time_patterns: Vec<TimePattern>,
        source: &str,
        escape: Escape,
        server: Server,
    ) -> Result<Self, FormatError> {
        let mut items: Vec<Item> = Vec::with_capacity(pieces.len());
        for (index, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Literal(bytes) => items.push(Item::Literal(bytes.clone().into_boxed_slice())),
                Piece::Field { directive: Directive::QueryString, .. }
                    if matches!(items.last(), Some(Item::Field { directive: Directive::UrlPath, .. }))
                        && matches!(index.checked_sub(1).map(|i| &pieces[i]), Some(Piece::Field { .. })) =>
                {
                    let after_quote = matches!(index.checked_sub(2).map(|i| &pieces[i]), Some(Piece::Literal(l)) if l.ends_with(b"\""));
                    let before_quote =
                        matches!(pieces.get(index + 1), Some(Piece::Literal(l)) if l.starts_with(b"\""));
                    if let Some(Item::Field { directive, quoted, .. }) = items.last_mut() {
                        *directive = Directive::UrlPathAndQuery;
                        *quoted = after_quote && before_quote;
                    }
                }
                Piece::Field { directive, position } => {
                    if let Some(Piece::Field { directive: previous, .. }) =
                        index.checked_sub(1).map(|i| &pieces[i])
                        && !splittable(*previous, *directive)
                    {
                        return Err(FormatError {
                            position: *position,
                            reason:
                                "two fields with nothing between them cannot be told apart: put a literal \
                                     such as a space between them (only %U%q or $uri$is_args$args, and a \
                                     field right after a time, can be split)"
                                    .into(),
                        });
                    }
                    let after_quote = matches!(index.checked_sub(1).map(|i| &pieces[i]), Some(Piece::Literal(l)) if l.ends_with(b"\""));
                    let before_quote =
                        matches!(pieces.get(index + 1), Some(Piece::Literal(l)) if l.starts_with(b"\""));
                    items.push(Item::Field {
                        directive: *directive,
                        quoted: after_quote && before_quote,
                        shaped_next: None,
                    });
                }
            }
        }
        // A decoded path reads past its literal by the shape of the field after it.
        for index in 0..items.len() {
            let next = match (items.get(index + 1), items.get(index + 2)) {
                (Some(Item::Literal(_)), Some(Item::Field { directive, .. })) => Some(*directive),
                _ => None,
            };
            if let Item::Field { directive, shaped_next, .. } = &mut items[index]
                && directive.is_decoded_path()
            {
                *shaped_next = next;
            }
        }
        if !items.iter().any(|item| matches!(item, Item::Field { .. })) {
            let reason = match server {
                Server::Apache | Server::AwsElb | Server::CloudFront => "the format has no % directive",
                Server::Nginx => "the format has no $variable",
            };
            return Err(FormatError { position: 0, reason: reason.into() });
        }
        Ok(Self { items, time_patterns, source: source.to_owned(), escape, server, json_fields: Vec::new() })
    }

    /// The keys of an nginx JSON format (empty for the others).
    pub(super) fn json_fields(&self) -> &[JsonField] {
        &self.json_fields
    }

    pub fn escape(&self) -> Escape {
        self.escape
    }

    pub fn server(&self) -> Server {
        self.server
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Whether the format ends with a quoted field (combined's `"%{User-Agent}i"`): fields appended
    /// to it on a line are read past, not a mismatch.
    pub(super) fn ends_with_quoted_field(&self) -> bool {
        matches!(self.items.as_slice(), [.., Item::Field { quoted: true, .. }, Item::Literal(last)] if **last == *b"\"")
    }

    /// The strftime pattern of a [`Directive::TimeFormat`].
    pub(super) fn time_pattern(&self, index: u8) -> &TimePattern {
        &self.time_patterns[usize::from(index)]
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Whether a field can follow another with nothing between them: `%t` is its own `[...]`, a
/// strftime `%{..}t` is read by its layout, a fraction of a second has a fixed width, and
/// `%q` is empty or starts with `?`, which ends a `%U` before it.
fn splittable(previous: Directive, next: Directive) -> bool {
    matches!(
        (previous, next),
        (
            Directive::Time
                | Directive::ConditionalTime
                | Directive::TimeFormat(_)
                | Directive::TimeFraction(_),
            _
        ) | (Directive::UrlPath, Directive::QueryString)
    )
}

pub(super) enum Piece {
    Literal(Vec<u8>),
    Field { directive: Directive, position: usize },
}

fn tokenize(format: &[u8], time_patterns: &mut Vec<TimePattern>) -> Result<Vec<Piece>, FormatError> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < format.len() {
        match format[i] {
            // Formats copied from an Apache config keep its escapes: \" \\ \t \n.
            b'\\' if i + 1 < format.len() => {
                literal.push(match format[i + 1] {
                    b't' => b'\t',
                    b'n' => b'\n',
                    other => other,
                });
                i += 2;
            }
            b'%' => {
                let start = i;
                let (directive, next) = directive_at(format, i + 1, time_patterns)
                    .map_err(|reason| FormatError { position: start, reason })?;
                i = next;
                match directive {
                    None => literal.push(b'%'),
                    Some(directive) => {
                        if !literal.is_empty() {
                            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                        }
                        pieces.push(Piece::Field { directive, position: start });
                    }
                }
            }
            byte => {
                literal.push(byte);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// Reads the directive after a `%`: modifiers and an optional `{argument}`, in any order as
/// mod_log_config reads them (`%>{s}!200T`, `%{s}!200>T`), then the letter(s).
/// `Ok((None, next))` is `%%`, a literal percent sign.
fn directive_at(
    format: &[u8],
    mut i: usize,
    time_patterns: &mut Vec<TimePattern>,
) -> Result<(Option<Directive>, usize), String> {
    let mut final_status = false;
    let mut conditional = false;
    let mut argument = None;
    while let Some(&byte) = format.get(i) {
        match byte {
            b'<' => final_status = false,
            b'>' => final_status = true,
            // Conditions (`!`, status lists) are ignored: when one does not hold, Apache writes `-`.
            b'!' | b',' | b'0'..=b'9' => conditional = true,
            b'{' => {
                let close =
                    format[i..].iter().position(|&b| b == b'}').ok_or("unclosed `{` in a directive")?;
                argument = Some(String::from_utf8_lossy(&format[i + 1..i + close]).into_owned());
                i += close;
            }
            _ => break,
        }
        i += 1;
    }
    let Some(&letter) = format.get(i) else {
        return Err("the format ends in the middle of a % directive".into());
    };
    i += 1;
    if letter == b'^' {
        // %^ti / %^to: trailers.
        return match format.get(i..i + 2) {
            Some(b"ti" | b"to") => Ok((Some(Directive::Ignored), i + 2)),
            _ => Err("unknown %^ directive (expected %^ti or %^to)".into()),
        };
    }
    let arg = argument.as_deref();
    let directive = match (letter, arg) {
        (b'%', None) => return Ok((None, i)),
        (b'h', _) => Directive::RemoteHost,
        (b'a', None | Some("c")) => Directive::RemoteAddr,
        (b'u', _) => Directive::RemoteUser,
        // `%{}t` is `%t`.
        (b't', None | Some("")) if conditional => Directive::ConditionalTime,
        (b't', None | Some("")) => Directive::Time,
        (b't', Some(spec)) => time_directive(spec, time_patterns)?,
        (b'r', _) => Directive::RequestLine,
        (b's', _) if final_status => Directive::FinalStatus,
        (b's', _) => Directive::OriginalStatus,
        (b'b' | b'B', _) => Directive::ResponseBytes,
        (b'O', _) => Directive::BytesSent,
        (b'I', _) => Directive::RequestBytes,
        (b'D', _) => Directive::DurationMicros,
        (b'T', None) => Directive::DurationSeconds,
        // Apache compares the unit without case.
        (b'T', Some(unit)) => match unit.to_ascii_lowercase().as_str() {
            "s" => Directive::DurationSeconds,
            "ms" => Directive::DurationMillis,
            "us" => Directive::DurationMicros,
            _ => return Err(format!("unknown %{{{unit}}}T unit (expected s, ms or us)")),
        },
        (b'v', _) => Directive::ServerName,
        (b'V', _) => Directive::RequestedServerName,
        (b'p', None | Some("canonical" | "local")) => Directive::ServerPort,
        (b'U', _) => Directive::UrlPath,
        (b'q', _) => Directive::QueryString,
        (b'm', _) => Directive::Method,
        (b'H', _) => Directive::Protocol,
        (b'i', Some(header)) => header_directive(header),
        // mod_ssl: `%{VAR}x` is an SSL variable, `%{VAR}c` a cryptography variable.
        (b'x', Some(variable)) if variable.eq_ignore_ascii_case("SSL_PROTOCOL") => Directive::TlsProtocol,
        (b'x', Some(variable)) if variable.eq_ignore_ascii_case("SSL_CIPHER") => Directive::TlsCipher,
        (b'x' | b'c', Some(_)) => Directive::Ignored,
        (b'i' | b'o' | b'e' | b'n' | b'C' | b'x' | b'c', None) => {
            return Err(format!("%{} needs a {{NAME}} argument", char::from(letter)));
        }
        (
            b'a' | b'A' | b'e' | b'f' | b'k' | b'l' | b'L' | b'n' | b'o' | b'p' | b'P' | b'R' | b'S' | b'X'
            | b'C',
            _,
        ) => Directive::Ignored,
        _ => {
            return Err(format!(
                "unknown directive %{} (see Apache's mod_log_config for the supported ones)",
                char::from(letter)
            ));
        }
    };
    Ok((Some(directive), i))
}

/// `%{..}t`: `begin:`/`end:` (the request's start, the default, or its end), then an epoch, a
/// fraction of a second, or a strftime format.
fn time_directive(spec: &str, time_patterns: &mut Vec<TimePattern>) -> Result<Directive, String> {
    let end = spec.starts_with("end:");
    let spec = spec.strip_prefix("begin:").or_else(|| spec.strip_prefix("end:")).unwrap_or(spec);
    Ok(match spec {
        "sec" => Directive::EpochTime(EpochUnit::Seconds),
        "msec" => Directive::EpochTime(EpochUnit::Millis),
        "usec" => Directive::EpochTime(EpochUnit::Micros),
        "msec_frac" => Directive::TimeFraction(EpochUnit::Millis),
        "usec_frac" => Directive::TimeFraction(EpochUnit::Micros),
        // The layout of %t, without brackets: the fast path.
        "%d/%b/%Y:%H:%M:%S %z" => Directive::TimeUnbracketed,
        strftime => {
            let index = u8::try_from(time_patterns.len()).map_err(|_| "more than 256 %{..}t time formats")?;
            time_patterns.push(TimePattern::compile(strftime, end)?);
            Directive::TimeFormat(index)
        }
    })
}

fn header_directive(name: &str) -> Directive {
    if name.eq_ignore_ascii_case("Referer") {
        Directive::Referrer
    } else if name.eq_ignore_ascii_case("User-Agent") {
        Directive::UserAgent
    } else if name.eq_ignore_ascii_case("X-Forwarded-For") {
        Directive::ForwardedFor
    } else {
        Directive::OtherRequestHeader
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn fields(format: &str) -> Vec<(Directive, bool)> {
        field_items(&LogFormat::compile(format).unwrap())
    }

    /// A compiled format's fields and whether each is quoted (the nginx tests use it too).
    pub(in crate::parse) fn field_items(format: &LogFormat) -> Vec<(Directive, bool)> {
        format
            .items()
            .iter()
            .filter_map(|item| match item {
                Item::Field { directive, quoted, .. } => Some((*directive, *quoted)),
                Item::Literal(_) => None,
            })
            .collect()
    }

    #[test]
    fn combined_compiles_with_quoted_fields() {
        use Directive::*;
        assert_eq!(
            fields(COMBINED),
            vec![
                (RemoteHost, false),
                (Ignored, false),
                (RemoteUser, false),
                (Time, false),
                (RequestLine, true),
                (FinalStatus, false),
                (ResponseBytes, false),
                (Referrer, true),
                (UserAgent, true),
            ]
        );
    }

    #[test]
    fn every_documented_directive_compiles() {
        use Directive::*;
        let format = r#"%h %a %l %u %t "%r" %>s %s %b %B %O %I %D %T %v %V %p %U %q %m %H "%{Referer}i" "%{User-Agent}i" %{X-Forwarded-For}i "%{Content-Type}o" %%"#;
        let directives: Vec<Directive> = fields(format).into_iter().map(|(d, _)| d).collect();
        assert_eq!(
            directives,
            vec![
                RemoteHost,
                RemoteAddr,
                Ignored,
                RemoteUser,
                Time,
                RequestLine,
                FinalStatus,
                OriginalStatus,
                ResponseBytes,
                ResponseBytes,
                BytesSent,
                RequestBytes,
                DurationMicros,
                DurationSeconds,
                ServerName,
                RequestedServerName,
                ServerPort,
                UrlPath,
                QueryString,
                Method,
                Protocol,
                Referrer,
                UserAgent,
                ForwardedFor,
                Ignored,
            ]
        );
        let last = LogFormat::compile(format).unwrap().items().last().cloned();
        assert_eq!(last, Some(Item::Literal(Box::from(&b"\" %"[..]))));
    }

    #[test]
    fn apache_config_escapes_are_accepted() {
        let plain = LogFormat::compile(COMMON).unwrap();
        let escaped = LogFormat::compile(r#"%h %l %u %t \"%r\" %>s %b"#).unwrap();
        assert_eq!(plain.items(), escaped.items());
    }

    #[test]
    fn modifiers_and_arguments() {
        use Directive::*;
        assert_eq!(
            fields("%400,501{User-agent}i %!200s %<s %{ms}T %{us}T %{c}a %{remote}p %{begin:msec}t %^ti"),
            vec![
                (UserAgent, false),
                (OriginalStatus, false),
                (OriginalStatus, false),
                (DurationMillis, false),
                (DurationMicros, false),
                (RemoteAddr, false),
                (Ignored, false),
                (EpochTime(EpochUnit::Millis), false),
                (Ignored, false),
            ]
        );
    }

    #[test]
    fn bad_formats_name_the_problem() {
        let cases = [
            ("unknown letter", "%h %Z", "unknown directive %Z", 3),
            ("unclosed brace", "%h %{Referer", "unclosed `{`", 3),
            ("dangling percent", "%h %", "ends in the middle", 3),
            ("header without name", "%h %i", "%i needs a {NAME}", 3),
            ("unknown strftime conversion", "%h %{%Y-%m-%d %Q}t", "unsupported strftime conversion %Q", 3),
            ("bad time unit", "%{minutes}T", "unknown %{minutes}T unit", 0),
            ("ssl variable without a name", "%h %x", "%x needs a {NAME}", 3),
            ("adjacent fields", "%h%u", "two fields", 2),
            ("%q before %U", "%q%U", "only %U%q", 2),
            ("no directive", "just text", "no % directive", 0),
        ];
        for (name, format, reason, position) in cases {
            let error = LogFormat::compile(format).unwrap_err();
            assert!(error.reason.contains(reason), "{name}: {error}");
            assert_eq!(error.position, position, "{name}");
        }
    }
}
