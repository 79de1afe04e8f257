//! nginx `log_format`s, compiled into the same fields and literals as Apache's formats.
//!
//! The text is what follows the format's name in nginx.conf: an optional `escape=default|json|none`,
//! then one or more quoted parts that nginx concatenates (`'$remote_addr - $remote_user ' '"$request"'`),
//! or the format itself without quotes. Variables are `$name` or `${name}`; those the document uses
//! are mapped to a [`Directive`], every other one (`$connection`, `$sent_http_*`, `$cookie_*`...) is
//! read and skipped.

use super::format::{Directive, Escape, FormatError, Piece, UpstreamField};
use super::line::ParseError;
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

/// What an nginx `log_format` compiles to: fields between literals, or the keys of a JSON object.
pub(super) enum Body {
    Pieces(Vec<Piece>),
    Json(Vec<JsonField>),
}

/// A key of a JSON format and the variable its value names: `{"upstream": {"addr": "$upstream_addr"}}`
/// is the path `upstream`, `addr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonField {
    pub path: Vec<String>,
    pub directive: Directive,
}

/// The escape mode and the body of an nginx `log_format`.
pub(super) fn tokenize(
    source: &str,
    time_patterns: &mut Vec<TimePattern>,
) -> Result<(Escape, Body), FormatError> {
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
    let trimmed = format.trim_ascii();
    if trimmed.starts_with(b"{") && trimmed.ends_with(b"}") {
        let start = format.len() - format.trim_ascii_start().len();
        let mut template = JsonTemplate { text: &format, offsets: &offsets, at: start, time_patterns };
        let mut fields = Vec::new();
        template.object(&mut Vec::new(), &mut fields)?;
        return Ok((escape, Body::Json(fields)));
    }
    Ok((escape, Body::Pieces(pieces(&format, &offsets, time_patterns)?)))
}

/// A JSON object template (`{"time":"$time_iso8601","status":$status,...}`), read as JSON with
/// `$variables` where values go: each value that is one variable, quoted or not, maps its key.
struct JsonTemplate<'t, 'p> {
    text: &'t [u8],
    offsets: &'t [usize],
    at: usize,
    time_patterns: &'p mut Vec<TimePattern>,
}

impl<'t> JsonTemplate<'t, '_> {
    fn error(&self, reason: &str) -> FormatError {
        let position = self.offsets.get(self.at).or(self.offsets.last()).copied().unwrap_or(0);
        FormatError { position, reason: format!("{reason} (a JSON log_format)") }
    }

    fn skip_spaces(&mut self) {
        self.at = skip_spaces(self.text, self.at);
    }

    fn expect(&mut self, byte: u8) -> Result<(), FormatError> {
        self.skip_spaces();
        if self.text.get(self.at) != Some(&byte) {
            return Err(self.error(&format!("expected `{}`", char::from(byte))));
        }
        self.at += 1;
        Ok(())
    }

    /// `{` key `:` value, ... `}`, the keys of nested objects as paths.
    fn object(&mut self, path: &mut Vec<String>, fields: &mut Vec<JsonField>) -> Result<(), FormatError> {
        self.expect(b'{')?;
        self.skip_spaces();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_spaces();
            let key = self.string()?;
            self.expect(b':')?;
            self.skip_spaces();
            path.push(String::from_utf8_lossy(key).into_owned());
            match self.text.get(self.at) {
                Some(b'{') => self.object(path, fields)?,
                Some(b'"') => {
                    let value = self.string()?;
                    self.variable_value(value, path, fields)?;
                }
                _ => {
                    let start = self.at;
                    while self
                        .text
                        .get(self.at)
                        .is_some_and(|b| !matches!(b, b',' | b'}') && !b.is_ascii_whitespace())
                    {
                        self.at += 1;
                    }
                    let text = self.text;
                    let value = &text[start..self.at];
                    self.variable_value(value, path, fields)?;
                }
            }
            path.pop();
            self.skip_spaces();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// The bytes of a quoted string (its escapes kept: only a lone variable is looked at).
    fn string(&mut self) -> Result<&'t [u8], FormatError> {
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a quoted key or value"));
        }
        let start = self.at + 1;
        let mut at = start;
        loop {
            match self.text.get(at) {
                None => return Err(self.error("a quoted key or value is not closed")),
                Some(b'\\') => at += 2,
                Some(b'"') => break,
                Some(_) => at += 1,
            }
        }
        self.at = at + 1;
        let text = self.text;
        Ok(&text[start..at])
    }

    /// A value that is exactly one `$variable` maps the key; any other value is not the log's.
    fn variable_value(
        &mut self,
        value: &[u8],
        path: &[String],
        fields: &mut Vec<JsonField>,
    ) -> Result<(), FormatError> {
        if value.first() != Some(&b'$') {
            return Ok(());
        }
        match variable_at(value, 1) {
            Some((name, end)) if end == value.len() => {
                let directive = directive(name, self.time_patterns).map_err(|reason| self.error(&reason))?;
                fields.push(JsonField { path: path.to_vec(), directive });
            }
            _ => {}
        }
        Ok(())
    }
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

/// Reads a line of a JSON format: a JSON object whose values are found by their key path, in any
/// order and spacing, strings or not. Calls `found` with the directive, the value's bytes (a
/// string's without its quotes, JSON's escapes kept) and its position, for each key the format
/// names. A byte scan rather than a JSON parser: nginx's escape=json writes bytes outside ASCII as
/// they are, which need not be UTF-8.
pub(super) fn read_json_line<'a>(
    line: &'a [u8],
    fields: &[JsonField],
    mut found: impl FnMut(Directive, &'a [u8], usize) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut reader = JsonLine { line, at: 0, path: Vec::new() };
    reader.object(fields, &mut found)?;
    reader.at = skip_spaces(line, reader.at);
    if reader.at != line.len() {
        return Err(reader.expected("the end of the line after the JSON object"));
    }
    Ok(())
}

struct JsonLine<'a> {
    line: &'a [u8],
    at: usize,
    path: Vec<&'a [u8]>,
}

impl<'a> JsonLine<'a> {
    fn expected(&self, what: &str) -> ParseError {
        ParseError::Expected { expected: format!("{what} (an nginx JSON log_format)"), position: self.at }
    }

    fn object(
        &mut self,
        fields: &[JsonField],
        found: &mut impl FnMut(Directive, &'a [u8], usize) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        self.at = skip_spaces(self.line, self.at);
        if self.line.get(self.at) != Some(&b'{') {
            return Err(self.expected("`{` opening a JSON object"));
        }
        self.at = skip_spaces(self.line, self.at + 1);
        if self.line.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.at = skip_spaces(self.line, self.at);
            let key = self.string()?;
            self.at = skip_spaces(self.line, self.at);
            if self.line.get(self.at) != Some(&b':') {
                return Err(self.expected("`:` after a key"));
            }
            self.at = skip_spaces(self.line, self.at + 1);
            self.path.push(key);
            let start = self.at;
            match self.line.get(self.at) {
                Some(b'{') => self.object(fields, found)?,
                Some(b'[') => self.skip_array()?,
                Some(b'"') => {
                    let value = self.string()?;
                    self.report(fields, value, start + 1, found)?;
                }
                _ => {
                    while self
                        .line
                        .get(self.at)
                        .is_some_and(|b| !matches!(b, b',' | b'}') && !b.is_ascii_whitespace())
                    {
                        self.at += 1;
                    }
                    let value = &self.line[start..self.at];
                    if value.is_empty() {
                        return Err(self.expected("a value"));
                    }
                    if value != b"null" {
                        self.report(fields, value, start, found)?;
                    }
                }
            }
            self.path.pop();
            self.at = skip_spaces(self.line, self.at);
            match self.line.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.expected("`,` or `}`")),
            }
        }
    }

    fn report(
        &self,
        fields: &[JsonField],
        value: &'a [u8],
        position: usize,
        found: &mut impl FnMut(Directive, &'a [u8], usize) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let named = fields.iter().find(|field| {
            field.path.len() == self.path.len()
                && field.path.iter().zip(&self.path).all(|(a, b)| a.as_bytes() == *b)
        });
        match named {
            Some(field) => found(field.directive, value, position),
            None => Ok(()),
        }
    }

    /// A string's bytes between its quotes, escapes kept.
    fn string(&mut self) -> Result<&'a [u8], ParseError> {
        if self.line.get(self.at) != Some(&b'"') {
            return Err(self.expected("a quoted string"));
        }
        let start = self.at + 1;
        let mut at = start;
        loop {
            match self.line.get(at) {
                None => return Err(self.expected("the quote closing a string")),
                Some(b'\\') => at += 2,
                Some(b'"') => break,
                Some(_) => at += 1,
            }
        }
        self.at = at + 1;
        Ok(&self.line[start..at])
    }

    /// Past an array (nested arrays and strings in it included): no variable is read from one.
    fn skip_array(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.line.get(self.at) {
                None => return Err(self.expected("`]` closing an array")),
                Some(b'"') => {
                    self.string()?;
                    continue;
                }
                Some(b'[' | b'{') => depth += 1,
                Some(b']' | b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
            self.at += 1;
        }
    }
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
    use super::super::format::LogFormat;
    use super::super::format::tests::field_items;
    use super::*;

    fn fields(source: &str) -> Vec<(Directive, bool)> {
        field_items(&LogFormat::compile_nginx(source).unwrap())
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
    fn a_json_template_maps_each_key_to_its_variable() {
        let format = LogFormat::compile_nginx(
            r#"escape=json '{"t":"$time_iso8601","req":{"m":"$request_method","u":"${request_uri}"},"s":$status,"n":"x $status","c":1}'"#,
        )
        .unwrap();
        let paths: Vec<(Vec<String>, Directive)> =
            format.json_fields().iter().map(|field| (field.path.clone(), field.directive)).collect();
        let path = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            paths,
            vec![
                (path(&["t"]), Directive::TimeFormat(0)),
                (path(&["req", "m"]), Directive::Method),
                (path(&["req", "u"]), Directive::RequestTarget),
                (path(&["s"]), Directive::FinalStatus),
            ]
        );
        let errors = [
            ("'{\"a\":\"$status\" \"b\"}'", "expected `,` or `}`"),
            ("'{\"a\" \"$status\"}'", "expected `:`"),
            ("'{\"a\":\"text\"}'", "names no $variable"),
        ];
        for (source, reason) in errors {
            let error = LogFormat::compile_nginx(source).unwrap_err();
            assert!(error.reason.contains(reason), "{source}: {error}");
        }
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
