//! Error logs: nginx's `error_log` lines and Apache's `ErrorLog` lines (2.4's default
//! `ErrorLogFormat`, and the 2.2 style without module, process or port), read into an
//! [`ErrorRecord`].
//!
//! ```text
//! 2026/12/07 09:29:17 [error] 7606#7606: *12 open() "/srv/missing.php" failed (2: No such file or directory), client: 127.0.0.1, server: www.example.test, request: "GET /missing.php HTTP/1.1", host: "www.example.test"
//! [Mon Dec 07 09:29:48.274407 2026] [core:info] [pid 8543:tid 8612] [client 127.0.0.1:44504] AH00128: File does not exist: /srv/old/page.html, referer: https://blog.example.test/links
//! [Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test
//! ```
//!
//! Neither server writes a time zone: the time is read as UTC.

use std::borrow::Cow;

use super::format::Server;
use super::line::ParseError;
use super::time::{Timestamp, parse_u64};

/// Whose error log a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorLogFormat {
    Nginx,
    Apache,
}

const NGINX_LEVELS: [&str; 8] = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"];
const APACHE_LEVELS: [&str; 16] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2", "trace3",
    "trace4", "trace5", "trace6", "trace7", "trace8",
];

/// One error-log line. Text fields borrow from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord<'a> {
    pub format: ErrorLogFormat,
    /// The server's local time, read as UTC.
    pub time: Timestamp,
    /// As the server names it: `error`, `warn`, `trace3`...
    pub level: &'a str,
    pub pid: Option<u32>,
    pub thread_id: Option<u64>,
    /// nginx's `*N`: the connection, the same number as `$connection` in the access log.
    pub connection_id: Option<u64>,
    /// Apache's module (`core`, `ssl`, `auth_basic`).
    pub module: Option<&'a str>,
    /// Apache's message number: `AH00128`.
    pub code: Option<&'a str>,
    /// Apache's source file and line, written at the debug and trace levels.
    pub source_file: Option<(&'a str, u32)>,
    pub client: Option<&'a str>,
    pub client_port: Option<u16>,
    /// nginx's `server:` (the `server_name` that took the request).
    pub server_name: Option<&'a str>,
    /// nginx's `host:` (the request's Host header).
    pub host: Option<&'a str>,
    /// nginx's `request:`.
    pub request_line: Option<&'a str>,
    /// nginx's `upstream:` (the URL nginx was passing the request to).
    pub upstream: Option<&'a str>,
    pub referrer: Option<&'a str>,
    /// The message without the context split into the fields above. Apache's operating-system
    /// error (`(70014)End of file found: `) stays at its start.
    pub message: Cow<'a, str>,
}

impl ErrorLogFormat {
    /// The `LOG_FORMAT` value that names it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx_error",
            Self::Apache => "apache_error",
        }
    }

    pub const fn server(self) -> Server {
        match self {
            Self::Nginx => Server::Nginx,
            Self::Apache => Server::Apache,
        }
    }

    /// The error log whose start the line has: nginx's `2026/12/07 09:29:17 [`, Apache's
    /// `[Mon Dec 07 `. No access-log line starts either way: a client address holds no `/` and is
    /// not bracketed, and a Kinesis Agent record starts with `{`.
    pub fn recognise(line: &[u8]) -> Option<Self> {
        match line {
            [b'[', d0, d1, d2, b' ', ..] if [d0, d1, d2].iter().all(|b| b.is_ascii_alphabetic()) => {
                Some(Self::Apache)
            }
            [y0, y1, y2, y3, b'/', m0, m1, b'/', ..]
                if [y0, y1, y2, y3, m0, m1].iter().all(|b| b.is_ascii_digit()) =>
            {
                Some(Self::Nginx)
            }
            _ => None,
        }
    }

    /// Reads a line that is text: the caller turns invalid UTF-8 into `\xhh` first, as for
    /// `event.original`.
    pub fn parse(self, line: &str) -> Result<ErrorRecord<'_>, ParseError> {
        match self {
            Self::Nginx => parse_nginx(line),
            Self::Apache => parse_apache(line),
        }
    }
}

/// A position in the line, for error messages that say where reading stopped.
struct Cursor<'a> {
    line: &'a str,
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str) -> Self {
        Self { line, rest: line }
    }

    fn position(&self) -> usize {
        self.line.len() - self.rest.len()
    }

    fn expected(&self, what: &str) -> ParseError {
        ParseError::Expected { expected: what.to_owned(), position: self.position() }
    }

    fn literal(&mut self, literal: &str) -> Result<(), ParseError> {
        match self.rest.strip_prefix(literal) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(self.expected(&format!("`{literal}`"))),
        }
    }

    /// Whether the rest starts with `literal`, taken if so.
    fn take(&mut self, literal: &str) -> bool {
        self.literal(literal).is_ok()
    }

    /// The text up to `end`, which is taken too.
    fn until(&mut self, end: &str, what: &str) -> Result<&'a str, ParseError> {
        let (value, rest) = self.rest.split_once(end).ok_or_else(|| self.expected(what))?;
        self.rest = rest;
        Ok(value)
    }

    fn number_until<T: TryFrom<u64>>(&mut self, end: &str, what: &str) -> Result<T, ParseError> {
        let start = self.position();
        let value = self.until(end, what)?;
        parse_u64(value.as_bytes()).and_then(|n| T::try_from(n).ok()).ok_or(ParseError::InvalidField {
            directive: "error log",
            value: value.to_owned(),
            expected: "a number",
            position: start,
        })
    }
}

/// `value` if it is one of `levels`, else an error at `start`.
fn known_level<'a>(value: &'a str, levels: &[&str], start: usize) -> Result<&'a str, ParseError> {
    if levels.contains(&value) {
        return Ok(value);
    }
    Err(ParseError::InvalidField {
        directive: "error log",
        value: value.to_owned(),
        expected: "a log level",
        position: start,
    })
}

fn parse_nginx(line: &str) -> Result<ErrorRecord<'_>, ParseError> {
    let mut cursor = Cursor::new(line);
    let time = line
        .get(..19)
        .and_then(|text| parse_nginx_time(text.as_bytes()))
        .ok_or_else(|| cursor.expected("a time as nginx writes it, `2026/12/07 09:29:17`"))?;
    cursor.rest = &line[19..];
    cursor.literal(" [")?;
    let start = cursor.position();
    let level = cursor.until("] ", "`] ` after the level")?;
    let level = known_level(level, &NGINX_LEVELS, start)?;
    let pid = cursor.number_until("#", "`#` after the process id")?;
    let thread_id = cursor.number_until(": ", "`: ` after the thread id")?;
    let connection_id = if cursor.take("*") {
        Some(cursor.number_until(" ", "` ` after the connection number")?)
    } else {
        None
    };
    let (message, context) = split_nginx_context(cursor.rest);
    Ok(ErrorRecord {
        format: ErrorLogFormat::Nginx,
        time,
        level,
        pid: Some(pid),
        thread_id: Some(thread_id),
        connection_id,
        module: None,
        code: None,
        source_file: None,
        client: context.client,
        client_port: None,
        server_name: context.server,
        host: context.host,
        request_line: context.request,
        upstream: context.upstream,
        referrer: context.referrer,
        message: Cow::Borrowed(message),
    })
}

/// `2026/12/07 09:29:17`.
fn parse_nginx_time(text: &[u8]) -> Option<Timestamp> {
    let [y0, y1, y2, y3, b'/', m0, m1, b'/', d0, d1, b' ', h0, h1, b':', i0, i1, b':', s0, s1] = *text else {
        return None;
    };
    let number = |digits: &[u8]| parse_u64(digits).and_then(|n| u32::try_from(n).ok());
    Timestamp::from_civil(
        i64::from(number(&[y0, y1, y2, y3])?),
        number(&[m0, m1])?,
        number(&[d0, d1])?,
        number(&[h0, h1])?,
        number(&[i0, i1])?,
        number(&[s0, s1])?,
        0,
    )
}

/// What nginx appends to a message about a request.
#[derive(Default)]
struct NginxContext<'a> {
    client: Option<&'a str>,
    server: Option<&'a str>,
    request: Option<&'a str>,
    upstream: Option<&'a str>,
    host: Option<&'a str>,
    referrer: Option<&'a str>,
}

/// Splits `message, client: 127.0.0.1, server: www.example.test, request: "GET / HTTP/1.1", host: "..."`
/// into the message and its context. The message may itself hold `, client: ` (a path in it is
/// the client's): the context starts at the first one after which the rest reads as a context.
fn split_nginx_context(rest: &str) -> (&str, NginxContext<'_>) {
    const CLIENT: &str = ", client: ";
    let mut from = 0;
    while let Some(found) = rest[from..].find(CLIENT) {
        let at = from + found;
        if let Some(context) = parse_nginx_context(&rest[at..]) {
            return (&rest[..at], context);
        }
        from = at + CLIENT.len();
    }
    (rest, NginxContext::default())
}

/// `, key: value` pairs to the end of the line: values quoted (which may hold anything, so a
/// value ends at the first `"` followed by the end or by another `, key: `) or not (up to the
/// next `, `). Keys nginx's HTTP module does not write are read past.
fn parse_nginx_context(mut rest: &str) -> Option<NginxContext<'_>> {
    // The first value is the client's address: `127.0.0.1`, `2001:db8::1`, `unix:`.
    let client = rest.strip_prefix(", client: ")?;
    let client = &client[..client.find(", ").unwrap_or(client.len())];
    if client.is_empty() || !client.bytes().all(|b| b.is_ascii_alphanumeric() || b".:-_%".contains(&b)) {
        return None;
    }
    let mut context = NginxContext::default();
    while !rest.is_empty() {
        let (key, after) = rest.strip_prefix(", ")?.split_once(": ")?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.match_indices('"').map(|(i, _)| i).find(|&i| {
                    let next = &quoted[i + 1..];
                    next.is_empty() || starts_with_context_key(next)
                })?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => match after.find(", ") {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        let field = match key {
            "client" => &mut context.client,
            "server" => &mut context.server,
            "request" => &mut context.request,
            "upstream" => &mut context.upstream,
            "host" => &mut context.host,
            "referrer" => &mut context.referrer,
            _ => &mut None,
        };
        // nginx writes `server: ` and `host: ""` when it knows none.
        *field = Some(value).filter(|value| !value.is_empty());
        rest = next;
    }
    context.client.is_some().then_some(context)
}

fn starts_with_context_key(text: &str) -> bool {
    text.strip_prefix(", ")
        .and_then(|t| t.split_once(": "))
        .is_some_and(|(key, _)| !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

fn parse_apache(line: &str) -> Result<ErrorRecord<'_>, ParseError> {
    let mut cursor = Cursor::new(line);
    cursor.literal("[")?;
    let start = cursor.position();
    let time_text = cursor.until("] [", "`] [` after the time")?;
    let time = parse_apache_time(time_text).ok_or(ParseError::InvalidField {
        directive: "error log",
        value: time_text.to_owned(),
        expected: "a time as Apache writes it, `Mon Dec 07 09:29:48.274407 2026`",
        position: start,
    })?;
    let start = cursor.position();
    let module_and_level = cursor.until("] ", "`] ` after the level")?;
    // 2.4 writes `module:level`, 2.2 the level alone.
    let (module, level) = match module_and_level.split_once(':') {
        Some((module, level)) => (Some(module), level),
        None => (None, module_and_level),
    };
    let level = known_level(level, &APACHE_LEVELS, start)?;
    let (mut pid, mut thread_id) = (None, None);
    if cursor.take("[pid ") {
        let process = cursor.until("] ", "`] ` after the process")?;
        let (p, t) = match process.split_once(":tid ") {
            Some((p, t)) => (p, Some(t)),
            None => (process, None),
        };
        pid = parse_u64(p.as_bytes()).and_then(|n| u32::try_from(n).ok());
        thread_id = t.and_then(|t| parse_u64(t.as_bytes()));
    }
    // At debug and trace levels: `mod_rewrite.c(480): `.
    let source_file = source_file(cursor.rest).map(|(name, number, rest)| {
        cursor.rest = rest;
        (name, number)
    });
    // When a system call failed: `(70014)End of file found: `.
    let os_error = os_error(cursor.rest).map(|(text, rest)| {
        cursor.rest = rest;
        text
    });
    let (mut client, mut client_port) = (None, None);
    if let Some(after) = cursor.rest.strip_prefix("[client ").or_else(|| cursor.rest.strip_prefix("[remote "))
        && let Some((address, rest)) = after.split_once("] ")
    {
        cursor.rest = rest;
        // 2.4 writes the port after the address (`::1:51234`); 2.2 the address alone.
        match address.rsplit_once(':').filter(|_| module.is_some()) {
            Some((ip, port)) if port.parse::<u16>().is_ok() => {
                client = Some(ip);
                client_port = port.parse().ok();
            }
            _ => client = Some(address),
        }
    }
    let code = cursor.rest.get(..9).filter(|prefix| is_message_code(prefix)).map(|prefix| {
        cursor.rest = &cursor.rest[9..];
        &prefix[..7]
    });
    let (text, referrer) = match cursor.rest.rsplit_once(", referer: ") {
        Some((text, referrer)) => (text, Some(referrer)),
        None => (cursor.rest, None),
    };
    let message = match os_error {
        Some(os_error) => Cow::Owned(format!("{os_error}: {text}")),
        None => Cow::Borrowed(text),
    };
    Ok(ErrorRecord {
        format: ErrorLogFormat::Apache,
        time,
        level,
        pid,
        thread_id,
        connection_id: None,
        module,
        code,
        source_file,
        client,
        client_port,
        server_name: None,
        host: None,
        request_line: None,
        upstream: None,
        referrer,
        message,
    })
}

/// `Mon Dec 07 09:29:48.274407 2026` (2.4) or `Wed Oct 11 14:32:52 2000` (2.2).
fn parse_apache_time(text: &str) -> Option<Timestamp> {
    let mut parts = text.split(' ').filter(|part| !part.is_empty());
    let (_weekday, month, day, time, year) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.split(':');
    let mut next = || clock.next().filter(|p| p.len() == 2).and_then(|p| p.parse::<u32>().ok());
    let (hour, minute, second) = (next()?, next()?, next()?);
    let millis = match fraction {
        "" => 0,
        digits if digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{digits:0<3}")[..3].parse::<u32>().ok()?
        }
        _ => return None,
    };
    let year: i64 = year.parse().ok().filter(|_| year.len() == 4)?;
    Timestamp::from_civil(year, u32::try_from(month).ok()?, day.parse().ok()?, hour, minute, second, 0)?
        .plus_millis(millis)
}

/// `mod_rewrite.c(480): ` at the start of `text`: the name, the line and what follows.
fn source_file(text: &str) -> Option<(&str, u32, &str)> {
    let (head, rest) = text.split_once("): ")?;
    let (name, number) = head.split_once('(')?;
    let plausible =
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
    Some((name, number.parse().ok()?, rest)).filter(|_| plausible)
}

/// `(70014)End of file found: ` at the start of `text`: the error without its `: `, and what follows.
fn os_error(text: &str) -> Option<(&str, &str)> {
    let number = text.strip_prefix('(')?.split_once(')')?.0;
    let number = number.strip_prefix('-').unwrap_or(number);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.split_once(": ")
}

/// `AH00128: `.
fn is_message_code(prefix: &str) -> bool {
    let bytes = prefix.as_bytes();
    bytes.len() == 9
        && bytes.starts_with(b"AH")
        && bytes[2..7].iter().all(u8::is_ascii_digit)
        && bytes.ends_with(b": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> i64 {
        let t = |s: &str| s.parse::<i64>().unwrap();
        let (date, clock) = text.split_once('T').unwrap();
        let d: Vec<i64> = date.split('-').map(t).collect();
        let c: Vec<&str> = clock.split(':').collect();
        let (s, ms) = c[2].split_once('.').unwrap_or((c[2], "0"));
        Timestamp::from_civil(d[0], d[1] as u32, d[2] as u32, t(c[0]) as u32, t(c[1]) as u32, t(s) as u32, 0)
            .unwrap()
            .unix_millis()
            + t(ms)
    }

    #[test]
    fn nginx_line_with_its_request_context() {
        let line = r#"2026/12/07 09:29:17 [error] 7606#7606: *12 open() "/srv/missing.php" failed (2: No such file or directory), client: 127.0.0.1, server: www.example.test, request: "GET /missing.php?id=1 HTTP/1.1", host: "www.example.test", referrer: "https://blog.example.test/links?from=x""#;
        let record = ErrorLogFormat::Nginx.parse(line).unwrap();
        assert_eq!(record.time.unix_millis(), millis("2026-12-07T09:29:17"));
        assert_eq!(record.level, "error");
        assert_eq!((record.pid, record.thread_id, record.connection_id), (Some(7606), Some(7606), Some(12)));
        assert_eq!(record.message, r#"open() "/srv/missing.php" failed (2: No such file or directory)"#);
        assert_eq!(record.client, Some("127.0.0.1"));
        assert_eq!(record.server_name, Some("www.example.test"));
        assert_eq!(record.request_line, Some("GET /missing.php?id=1 HTTP/1.1"));
        assert_eq!(record.host, Some("www.example.test"));
        assert_eq!(record.referrer, Some("https://blog.example.test/links?from=x"));
        assert_eq!(record.upstream, None);
    }

    #[test]
    fn nginx_notices_have_no_connection_or_context() {
        let record = ErrorLogFormat::Nginx
            .parse(r#"2026/12/07 09:29:17 [notice] 7604#7604: using the "epoll" event method"#)
            .unwrap();
        assert_eq!(record.level, "notice");
        assert_eq!(record.connection_id, None);
        assert_eq!(record.client, None);
        assert_eq!(record.message, r#"using the "epoll" event method"#);
    }

    #[test]
    fn nginx_context_is_found_past_lookalikes_in_the_message_and_values() {
        // The path in the message holds `, client: `; the request holds quotes.
        let line = r#"2026/12/07 09:29:17 [error] 1#1: *3 open() "/a, client: b" failed, client: 10.0.0.1, server: s, request: "GET /a"b", "c HTTP/1.1", upstream: "http://127.0.0.1:8080/x", host: "h""#;
        let record = ErrorLogFormat::Nginx.parse(line).unwrap();
        assert_eq!(record.message, r#"open() "/a, client: b" failed"#);
        assert_eq!(record.client, Some("10.0.0.1"));
        assert_eq!(record.request_line, Some(r#"GET /a"b", "c HTTP/1.1"#));
        assert_eq!(record.upstream, Some("http://127.0.0.1:8080/x"));
        assert_eq!(record.host, Some("h"));
        // A context that does not read as one stays in the message.
        let line = r#"2026/12/07 09:29:17 [error] 1#1: *3 odd, client: 10.0.0.1, Server: x"#;
        let record = ErrorLogFormat::Nginx.parse(line).unwrap();
        assert_eq!(record.message, "odd, client: 10.0.0.1, Server: x");
        assert_eq!(record.client, None);
    }

    #[test]
    fn apache_24_line() {
        let line = "[Mon Dec 07 09:29:48.274407 2026] [core:info] [pid 8543:tid 8612] [client 127.0.0.1:44504] AH00128: File does not exist: /srv/old/page.html, referer: https://blog.example.test/links?from=x";
        let record = ErrorLogFormat::Apache.parse(line).unwrap();
        assert_eq!(record.time.unix_millis(), millis("2026-12-07T09:29:48.274"));
        assert_eq!((record.module, record.level), (Some("core"), "info"));
        assert_eq!((record.pid, record.thread_id), (Some(8543), Some(8612)));
        assert_eq!((record.client, record.client_port), (Some("127.0.0.1"), Some(44504)));
        assert_eq!(record.code, Some("AH00128"));
        assert_eq!(record.message, "File does not exist: /srv/old/page.html");
        assert_eq!(record.referrer, Some("https://blog.example.test/links?from=x"));
    }

    #[test]
    fn apache_24_operating_system_error_source_file_and_ipv6_client() {
        let line = "[Mon Dec 07 09:29:31.788234 2026] [ssl:trace3] [pid 7985] ssl_engine_io.c(1234): (70014)End of file found: [client 2001:db8::1:58856] AH02006: SSL handshake stopped: connection was closed";
        let record = ErrorLogFormat::Apache.parse(line).unwrap();
        assert_eq!(record.level, "trace3");
        assert_eq!((record.pid, record.thread_id), (Some(7985), None));
        assert_eq!(record.source_file, Some(("ssl_engine_io.c", 1234)));
        assert_eq!((record.client, record.client_port), (Some("2001:db8::1"), Some(58856)));
        assert_eq!(record.code, Some("AH02006"));
        assert_eq!(record.message, "(70014)End of file found: SSL handshake stopped: connection was closed");
    }

    #[test]
    fn apache_22_line() {
        let line = "[Wed Oct 11 14:32:52 2000] [error] [client ::1] client denied by server configuration: /export/home/live/ap/htdocs/test";
        let record = ErrorLogFormat::Apache.parse(line).unwrap();
        assert_eq!(record.time.unix_millis(), millis("2000-10-11T14:32:52"));
        assert_eq!((record.module, record.level, record.pid), (None, "error", None));
        assert_eq!((record.client, record.client_port), (Some("::1"), None), "2.2 writes no port");
        assert_eq!(record.code, None);
        assert_eq!(record.message, "client denied by server configuration: /export/home/live/ap/htdocs/test");
    }

    #[test]
    fn recognised_by_their_start_and_nothing_else() {
        assert_eq!(
            ErrorLogFormat::recognise(b"2026/12/07 09:29:17 [error] 1#1: x"),
            Some(ErrorLogFormat::Nginx)
        );
        assert_eq!(
            ErrorLogFormat::recognise(b"[Mon Dec 07 09:29:48 2026] [error] x"),
            Some(ErrorLogFormat::Apache)
        );
        for access in [
            &b"127.0.0.1 - - [07/Dec/2026:09:29:17 +0000] \"GET / HTTP/1.1\" 200 5"[..],
            b"2001:db8::1 - - [07/Dec/2026:09:29:17 +0000] \"GET / HTTP/1.1\" 200 5",
            b"www.example.test:80 127.0.0.1 - - [07/Dec/2026:09:29:17 +0000] \"GET / HTTP/1.1\" 200 5",
            b"{\"host\":\"127.0.0.1\"}",
            b"",
            b"[",
        ] {
            assert_eq!(ErrorLogFormat::recognise(access), None, "{}", String::from_utf8_lossy(access));
        }
    }

    #[test]
    fn bad_lines_say_where_they_stopped() {
        for (format, line, expected) in [
            (
                ErrorLogFormat::Nginx,
                "2026/13/07 09:29:17 [error] 1#1: x",
                "expected a time as nginx writes it",
            ),
            (
                ErrorLogFormat::Nginx,
                "2026/12/07 09:29:17 [fatal] 1#1: x",
                r#"invalid error log value "fatal" at byte 21: expected a log level"#,
            ),
            (ErrorLogFormat::Nginx, "2026/12/07 09:29:17 [error] x#1: y", r#"invalid error log value "x""#),
            (
                ErrorLogFormat::Apache,
                "[Mon Dec 07 25:29:48 2026] [error] x",
                "expected a time as Apache writes it",
            ),
            (
                ErrorLogFormat::Apache,
                "[Mon Dec 07 09:29:48 2026] x",
                "expected `] [` after the time at byte 1",
            ),
        ] {
            let error = format.parse(line).unwrap_err().to_string();
            assert!(error.contains(expected), "{line}: {error}");
        }
    }
}
