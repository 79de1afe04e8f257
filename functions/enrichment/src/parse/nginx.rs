//! nginx `log_format`s, compiled into the same fields and literals as Apache's formats.
//!
//! The text is what follows the format's name in nginx.conf: an optional `escape=default|json|none`,
//! then one or more quoted parts that nginx concatenates (`'$remote_addr - $remote_user ' '"$request"'`),
//! or the format itself without quotes. Variables are `$name` or `${name}`; those the document uses
//! are mapped to a [`Directive`], every other one (`$connection`, `$sent_http_*`, `$cookie_*`...) is
//! read and skipped.

use super::format::{Directive, Escape, FormatError, Piece, UpstreamField};
use super::strftime::TimePattern;

/// Whether `source` is an nginx `log_format`: it starts with `escape=` or a quote, or it names
/// `$variables` and no Apache `%` directive.
pub(super) fn looks_like_nginx(source: &str) -> bool {
    let source = source.trim_start();
    if source.starts_with("escape=") || source.starts_with('\'') {
        return true;
    }
    let bytes = source.as_bytes();
    let has_variable = bytes
        .windows(2)
        .any(|pair| pair[0] == b'$' && (pair[1].is_ascii_alphabetic() || pair[1] == b'_' || pair[1] == b'{'));
    let has_directive = bytes.windows(2).any(|pair| {
        pair[0] == b'%' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'{' | b'<' | b'>' | b'!'))
    });
    has_variable && !has_directive
}

/// The escape mode and the pieces of an nginx `log_format`.
pub(super) fn tokenize(
    source: &str,
    time_patterns: &mut Vec<TimePattern>,
) -> Result<(Escape, Vec<Piece>), FormatError> {
    let error = |position: usize, reason: &str| FormatError { position, reason: reason.into() };
    let text = source.as_bytes();
    let mut at = skip_spaces(text, 0);
    let mut escape = Escape::Backslash;
    if text[at..].starts_with(b"escape=") {
        let start = at;
        at += b"escape=".len();
        let end = text[at..].iter().position(|b| b.is_ascii_whitespace()).map_or(text.len(), |n| at + n);
        escape = match &text[at..end] {
            b"default" => Escape::Backslash,
            b"json" => Escape::Json,
            b"none" => Escape::None,
            _ => {
                return Err(error(
                    start,
                    "unknown escape= mode (expected escape=default, escape=json or escape=none)",
                ));
            }
        };
        at = skip_spaces(text, end);
    }
    let (format, offsets) = match text.get(at) {
        Some(b'\'' | b'"') => unquote(text, at)?,
        _ => {
            let body = source[at..].trim_end().trim_end_matches(';');
            (body.as_bytes().to_vec(), (at..at + body.len()).collect())
        }
    };
    Ok((escape, pieces(&format, &offsets, time_patterns)?))
}

fn skip_spaces(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// nginx.conf's quoted parts, concatenated, with the configuration's own escapes undone (`\"`, `\'`,
/// `\\`, `\t`, `\r`, `\n`; any other backslash stays). Returns the format and, for each of its
/// bytes, where it was in `text` (for error positions).
fn unquote(text: &[u8], mut at: usize) -> Result<(Vec<u8>, Vec<usize>), FormatError> {
    let mut format = Vec::new();
    let mut offsets = Vec::new();
    loop {
        at = skip_spaces(text, at);
        match text.get(at) {
            None | Some(b';') => break,
            Some(&quote @ (b'\'' | b'"')) => {
                let open = at;
                at += 1;
                loop {
                    match text.get(at) {
                        None => {
                            return Err(FormatError {
                                position: open,
                                reason: "a quoted part of the format is not closed".into(),
                            });
                        }
                        Some(&byte) if byte == quote => {
                            at += 1;
                            break;
                        }
                        Some(b'\\') if at + 1 < text.len() => {
                            let (value, keep_backslash) = match text[at + 1] {
                                b'"' => (b'"', false),
                                b'\'' => (b'\'', false),
                                b'\\' => (b'\\', false),
                                b't' => (b'\t', false),
                                b'r' => (b'\r', false),
                                b'n' => (b'\n', false),
                                other => (other, true),
                            };
                            if keep_backslash {
                                format.push(b'\\');
                                offsets.push(at);
                            }
                            format.push(value);
                            offsets.push(at + 1);
                            at += 2;
                        }
                        Some(&byte) => {
                            format.push(byte);
                            offsets.push(at);
                            at += 1;
                        }
                    }
                }
            }
            Some(_) => {
                return Err(FormatError {
                    position: at,
                    reason: "text outside the format's quoted parts (quote every part, as nginx.conf does)"
                        .into(),
                });
            }
        }
    }
    Ok((format, offsets))
}

fn pieces(
    format: &[u8],
    offsets: &[usize],
    time_patterns: &mut Vec<TimePattern>,
) -> Result<Vec<Piece>, FormatError> {
    let position = |index: usize| offsets.get(index).copied().unwrap_or(0);
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < format.len() {
        if format[i] != b'$' {
            literal.push(format[i]);
            i += 1;
            continue;
        }
        let start = i;
        let (name, next) = variable_at(format, i + 1).ok_or_else(|| FormatError {
            position: position(start),
            reason: "`$` without a variable name after it (nginx needs $name or ${name})".into(),
        })?;
        i = next;
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        let mut directive = directive(name, time_patterns)
            .map_err(|reason| FormatError { position: position(start), reason })?;
        // `$uri$is_args$args`: `$is_args` is `?` before a query, else nothing, and an absent
        // `$args` is written `-`: one field, read by its `?`.
        if directive == Directive::UrlPath {
            for args in [&b"$is_args$args"[..], b"$is_args$query_string"] {
                if format[i..].starts_with(args) {
                    directive = Directive::UrlPathAndArgs;
                    i += args.len();
                    break;
                }
            }
        }
        pieces.push(Piece::Field { directive, position: position(start) });
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The name of the variable starting at `at` (after the `$`), and where it ends.
fn variable_at(format: &[u8], at: usize) -> Option<(&str, usize)> {
    let is_name = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let (name, end) = if format.get(at) == Some(&b'{') {
        let close = format[at..].iter().position(|&b| b == b'}')? + at;
        (&format[at + 1..close], close + 1)
    } else {
        let length = format[at..].iter().take_while(|b| is_name(b)).count();
        (&format[at..at + length], at + length)
    };
    if name.is_empty() || !name.iter().all(is_name) {
        return None;
    }
    Some((std::str::from_utf8(name).ok()?, end))
}

/// What an nginx variable feeds in the document.
fn directive(name: &str, time_patterns: &mut Vec<TimePattern>) -> Result<Directive, String> {
    Ok(match name {
        "remote_addr" => Directive::RemoteHost,
        "realip_remote_addr" => Directive::RemoteAddr,
        "remote_user" => Directive::RemoteUser,
        "time_local" => Directive::TimeUnbracketed,
        "time_iso8601" => {
            let index = u8::try_from(time_patterns.len()).map_err(|_| "more than 256 time variables")?;
            time_patterns.push(TimePattern::compile("%Y-%m-%dT%H:%M:%S%z", false)?);
            Directive::TimeFormat(index)
        }
        "msec" => Directive::EpochSecondsFraction,
        "request" => Directive::RequestLine,
        "request_method" => Directive::Method,
        "request_uri" => Directive::RequestTarget,
        "uri" | "document_uri" => Directive::UrlPath,
        "args" | "query_string" => Directive::QueryString,
        "server_protocol" => Directive::Protocol,
        "status" => Directive::FinalStatus,
        "body_bytes_sent" => Directive::ResponseBytes,
        "bytes_sent" => Directive::BytesSent,
        "request_length" => Directive::RequestBytes,
        "request_time" => Directive::DurationSeconds,
        "http_referer" => Directive::Referrer,
        "http_user_agent" => Directive::UserAgent,
        "http_x_forwarded_for" => Directive::ForwardedFor,
        "host" => Directive::RequestedServerName,
        "server_name" => Directive::ServerName,
        "server_port" => Directive::ServerPort,
        "ssl_protocol" => Directive::TlsProtocol,
        "ssl_cipher" => Directive::TlsCipher,
        "remote_port" => Directive::RemotePort,
        "scheme" => Directive::Scheme,
        "request_id" => Directive::RequestId,
        "upstream_addr" => Directive::Upstream(UpstreamField::Address),
        "upstream_status" => Directive::Upstream(UpstreamField::Status),
        "upstream_response_time" => Directive::Upstream(UpstreamField::ResponseTime),
        "upstream_connect_time" => Directive::Upstream(UpstreamField::ConnectTime),
        "upstream_header_time" => Directive::Upstream(UpstreamField::HeaderTime),
        // A value per upstream tried, `, ` and ` : ` separated.
        upstream if upstream.starts_with("upstream_") => Directive::IgnoredList,
        header if header.starts_with("http_") => Directive::OtherRequestHeader,
        _ => Directive::Ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::super::format::{Item, LogFormat};
    use super::*;

    fn fields(source: &str) -> Vec<(Directive, bool)> {
        LogFormat::compile_nginx(source)
            .unwrap()
            .items()
            .iter()
            .filter_map(|item| match item {
                Item::Field { directive, quoted } => Some((*directive, *quoted)),
                Item::Literal(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_nginx_conf_main_format_compiles_from_its_quoted_parts() {
        use Directive::*;
        let main = r#"'$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';"#;
        assert_eq!(
            fields(main),
            vec![
                (RemoteHost, false),
                (RemoteUser, false),
                (TimeUnbracketed, false),
                (RequestLine, true),
                (FinalStatus, false),
                (ResponseBytes, false),
                (Referrer, true),
                (UserAgent, true),
                (ForwardedFor, true),
            ]
        );
        // Unquoted, as a single setting value, it is the same format.
        let unquoted = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#;
        assert_eq!(fields(unquoted), fields(main));
        assert_eq!(LogFormat::compile_nginx(main).unwrap().escape(), Escape::Backslash);
    }

    #[test]
    fn escape_modes_braces_and_skipped_variables() {
        use Directive::*;
        let format = LogFormat::compile_nginx(
            r#"escape=json '${remote_addr} $connection "$upstream_response_time" $msec'"#,
        )
        .unwrap();
        assert_eq!(format.escape(), Escape::Json);
        assert_eq!(LogFormat::compile_nginx("escape=none '$status'").unwrap().escape(), Escape::None);
        assert_eq!(
            fields(r#"escape=json '${remote_addr} $connection "$upstream_response_time" $msec'"#),
            vec![
                (RemoteHost, false),
                (Ignored, false),
                (Upstream(UpstreamField::ResponseTime), true),
                (EpochSecondsFraction, false),
            ]
        );
        // `$uri$is_args$args` is read as one field and split at the `?`.
        assert_eq!(
            fields("'$remote_addr $uri$is_args$args $status'"),
            vec![(RemoteHost, false), (UrlPathAndArgs, false), (FinalStatus, false),]
        );
    }

    #[test]
    fn which_dialect_a_setting_is() {
        assert!(looks_like_nginx("$remote_addr - $remote_user [$time_local]"));
        assert!(looks_like_nginx("escape=json '{\"a\":\"$status\"}'"));
        assert!(looks_like_nginx("'$status'"));
        assert!(!looks_like_nginx(r#"%h %l %u %t "%r" %>s %b"#));
        assert!(!looks_like_nginx("%h $not_a_variable %>s"), "Apache's directives decide");
    }

    #[test]
    fn bad_formats_name_the_problem_and_where() {
        let cases = [
            ("unclosed quote", "'$status", "not closed", 0),
            ("text between parts", "'$status' junk", "outside the format's quoted parts", 10),
            ("bad escape mode", "escape=xml '$status'", "unknown escape= mode", 0),
            ("dangling dollar", "'$status $'", "without a variable name", 9),
            ("empty braces", "'${}'", "without a variable name", 1),
            ("adjacent variables", "'$status$body_bytes_sent'", "two fields", 8),
            ("no variable", "'just text'", "no $variable", 0),
        ];
        for (name, format, reason, position) in cases {
            let error = LogFormat::compile_nginx(format).unwrap_err();
            assert!(error.reason.contains(reason), "{name}: {error}");
            assert_eq!(error.position, position, "{name}: {error}");
        }
    }
}
