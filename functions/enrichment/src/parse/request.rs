//! The request line (`%r`) and its target, split the way ECS wants them.
//!
//! `METHOD TARGET HTTP/x.y` and HTTP/0.9's `METHOD TARGET` are requests; the target may be a path
//! (`/a?b`), absolute (`http://host/a`, proxies), `*` (`OPTIONS *`) or `host:port` (`CONNECT`).
//! Anything else (TLS bytes on the plain port, scanners' garbage) is still a valid log line: the
//! document then keeps the text in `http.request.line` and has no method or URL.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::line::find_byte_in_short;

/// A request line that has the shape of an HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    /// `1.1` from `HTTP/1.1`; absent for HTTP/0.9.
    pub version: Option<&'a str>,
}

impl<'a> RequestLine<'a> {
    pub fn parse(line: &'a str) -> Option<Self> {
        let (method, rest) = split_once_ascii(line, b' ')?;
        let (target, protocol) = match split_once_ascii(rest, b' ') {
            Some((target, protocol)) => (target, Some(protocol)),
            None => (rest, None),
        };
        if !is_token(method) || !is_target(method, target) {
            return None;
        }
        // A version never holds a space, so a fourth token fails here too.
        let version = match protocol {
            None => None,
            Some(protocol) => Some(http_version(protocol)?),
        };
        Some(Self { method, target, version })
    }
}

/// `text` around the first `byte`, an ASCII byte (so both sides are on char boundaries), found
/// in a register (see [`find_byte_in_short`]): the request line and its target are split on every
/// line, where `str`'s char searcher, and even memchr's set-up, cost more than the rest of the
/// request handling.
#[inline]
fn split_once_ascii(text: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = find_byte_in_short(byte, text.as_bytes())?;
    Some((&text[..at], &text[at + 1..]))
}

/// `HTTP/1.1` ─▶ `1.1`, for `%H` and the request line.
pub fn http_version(protocol: &str) -> Option<&str> {
    let version = protocol.strip_prefix("HTTP/")?;
    let all_digits = |s: &[u8]| !s.is_empty() && s.len() <= 3 && s.iter().all(u8::is_ascii_digit);
    let bytes = version.as_bytes();
    let valid = match bytes.iter().position(|&b| b == b'.') {
        Some(dot) => all_digits(&bytes[..dot]) && all_digits(&bytes[dot + 1..]),
        None => all_digits(bytes),
    };
    valid.then_some(version)
}

/// RFC 9110 token characters: what a method is made of.
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_target(method: &str, target: &str) -> bool {
    target.starts_with('/')
        || target == "*"
        || scheme_end(target).is_some()
        || (method == "CONNECT" && is_authority(target))
}

/// `host:port`, as CONNECT sends it.
fn is_authority(target: &str) -> bool {
    match target.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains('/')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// The index of `://` after a valid URI scheme.
pub(super) fn scheme_end(target: &str) -> Option<usize> {
    // A scheme holds no `:`, so its end is the first one (a byte search: `str::find` builds a
    // substring searcher for every call).
    let end = memchr::memchr(b':', target.as_bytes())?;
    if !target[end..].starts_with("://") {
        return None;
    }
    let scheme = &target[..end];
    let mut bytes = scheme.bytes();
    let first_is_letter = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    (first_is_letter && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))).then_some(end)
}

/// The host of an absolute URL (`https://user@www.Example.com:8443/a?b` ─▶ `www.Example.com`): its
/// authority without the user part and the port; `[2001:db8::1]` keeps its brackets. `None` for a
/// URL without a scheme or host (a path, `-`, `about:blank`). Also whether the host has an ASCII
/// capital letter (host names are case-insensitive).
pub fn url_host(url: &str) -> Option<(&str, bool)> {
    let bytes = url.as_bytes();
    // Nearly every referrer is http(s): those need no search for the scheme's end.
    let start = if bytes.starts_with(b"https://") {
        8
    } else if bytes.starts_with(b"http://") {
        7
    } else {
        scheme_end(url)? + 3
    };
    // One pass over the authority (a few dozen bytes; a search per separator cost 1,000
    // instructions a referrer): the user part ends at its last `@`, a port follows the last `:`
    // outside an IPv6 address's brackets.
    let (mut host_start, mut colon, mut end, mut capitals) = (start, None, bytes.len(), false);
    for (at, &byte) in bytes.iter().enumerate().skip(start) {
        match byte {
            b'/' | b'?' | b'#' => {
                end = at;
                break;
            }
            b'@' => (host_start, colon, capitals) = (at + 1, None, false),
            b':' => colon = Some(at),
            b']' => colon = None,
            b'A'..=b'Z' => capitals = true,
            _ => {}
        }
    }
    let host_end = match colon {
        Some(colon) if bytes[colon + 1..end].iter().all(u8::is_ascii_digit) => colon,
        _ => end,
    };
    let host = &url[host_start..host_end];
    (!host.is_empty()).then_some((host, capitals))
}

/// The parts of a request target that the document carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// The path, percent-decoded; kept as logged when the decoded bytes are not UTF-8.
    pub path: Option<Cow<'a, str>>,
    /// The query, as logged, without its `?`.
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    pub fn of_target(target: &'a str) -> Self {
        let path_and_query = if target.starts_with('/') {
            target
        } else if let Some(scheme_end) = scheme_end(target) {
            let after_authority = &target[scheme_end + 3..];
            match memchr::memchr2(b'/', b'?', after_authority.as_bytes()) {
                Some(start) => &after_authority[start..],
                None => "",
            }
        } else {
            // `*` and `host:port` have neither path nor query.
            return Self { path: None, query: None };
        };
        let (path, query) = match split_once_ascii(path_and_query, b'?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        Self {
            path: (!path.is_empty()).then(|| percent_decode_path(path)),
            query: query.filter(|q| !q.is_empty()),
        }
    }
}

/// Percent-decoded text (a path, CloudFront's user agent); kept as logged when the decoded bytes
/// are not UTF-8.
pub fn percent_decode_path(path: &str) -> Cow<'_, str> {
    if find_byte_in_short(b'%', path.as_bytes()).is_none() {
        return Cow::Borrowed(path);
    }
    // Decoded into room for all of it at once (the decoder's own collecting grows it step by step).
    let mut decoded = Vec::with_capacity(path.len());
    decoded.extend(percent_decode_str(path));
    String::from_utf8(decoded).map_or(Cow::Borrowed(path), Cow::Owned)
}

/// `pdf` for `/docs/report.2026.pdf`; none for `/`, `/.env` or `/dir.d/`.
pub fn extension(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let last_segment = &path[memchr::memrchr(b'/', bytes).map_or(0, |slash| slash + 1)..];
    let dot = memchr::memrchr(b'.', last_segment.as_bytes())?;
    let extension = &last_segment[dot + 1..];
    (dot > 0 && !extension.is_empty()).then_some(extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        // (name, request line, expected (method, target, version))
        type Case = (&'static str, &'static str, Option<(&'static str, &'static str, Option<&'static str>)>);
        let cases: &[Case] = &[
            ("http/1.1", "GET /index.html HTTP/1.1", Some(("GET", "/index.html", Some("1.1")))),
            ("http/1.0 head", "HEAD / HTTP/1.0", Some(("HEAD", "/", Some("1.0")))),
            ("http/2", "GET / HTTP/2.0", Some(("GET", "/", Some("2.0")))),
            ("http/0.9", "GET /", Some(("GET", "/", None))),
            (
                "absolute form",
                "GET http://www.example.test/a HTTP/1.1",
                Some(("GET", "http://www.example.test/a", Some("1.1"))),
            ),
            (
                "connect",
                "CONNECT www.example.test:443 HTTP/1.1",
                Some(("CONNECT", "www.example.test:443", Some("1.1"))),
            ),
            ("options star", "OPTIONS * HTTP/1.1", Some(("OPTIONS", "*", Some("1.1")))),
            ("webdav method", "PROPFIND / HTTP/1.1", Some(("PROPFIND", "/", Some("1.1")))),
            ("lowercase method", "get / HTTP/1.1", Some(("get", "/", Some("1.1")))),
            ("tls bytes", "\u{16}\u{3}\u{1}", None),
            ("garbage", "garbage", None),
            ("not a target", "foo bar", None),
            ("authority without connect", "GET host:443 HTTP/1.1", None),
            ("space in target", "GET /a b HTTP/1.1", None),
            ("unknown protocol", "GET / SPDY/3", None),
            ("empty", "", None),
            ("double space", "GET  / HTTP/1.1", None),
        ];
        for (name, line, expected) in cases {
            let parsed = RequestLine::parse(line).map(|r| (r.method, r.target, r.version));
            assert_eq!(parsed, *expected, "{name}");
        }
    }

    #[test]
    fn url_parts() {
        // (name, target, path, query, extension)
        type Case =
            (&'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>);
        let cases: &[Case] = &[
            ("root", "/", Some("/"), None, None),
            (
                "file with query",
                "/a%20b.html?q=1&x=%22y%22",
                Some("/a b.html"),
                Some("q=1&x=%22y%22"),
                Some("html"),
            ),
            ("utf-8 percent-encoded", "/gr%C3%BC%C3%9Fe.txt", Some("/grüße.txt"), None, Some("txt")),
            ("latin-1 percent-encoded stays", "/caf%E9.html", Some("/caf%E9.html"), None, Some("html")),
            ("dotted name", "/docs/report.2026.pdf", Some("/docs/report.2026.pdf"), None, Some("pdf")),
            ("dotfile", "/.env", Some("/.env"), None, None),
            ("dot in directory only", "/dir.d/file", Some("/dir.d/file"), None, None),
            ("trailing dot", "/file.", Some("/file."), None, None),
            ("empty query", "/?", Some("/"), None, None),
            (
                "absolute form",
                "http://www.example.test/index.html?a=1",
                Some("/index.html"),
                Some("a=1"),
                Some("html"),
            ),
            ("absolute form no path", "http://www.example.test", None, None, None),
            ("absolute form query only", "http://www.example.test?a=1", None, Some("a=1"), None),
            ("star", "*", None, None, None),
            ("authority", "www.example.test:443", None, None, None),
        ];
        for (name, target, path, query, ext) in cases {
            let parts = UrlParts::of_target(target);
            assert_eq!(parts.path.as_deref(), *path, "{name} path");
            assert_eq!(parts.query, *query, "{name} query");
            assert_eq!(parts.path.as_deref().and_then(extension), *ext, "{name} extension");
        }
    }

    #[test]
    fn hosts_of_urls() {
        let cases = [
            ("https://www.example.com/search?q=weblogs", Some("www.example.com")),
            ("http://Example.COM", Some("Example.COM")),
            ("https://user:secret@example.com:8443/a", Some("example.com")),
            ("https://news.example.org?x=1", Some("news.example.org")),
            ("https://example.net#top", Some("example.net")),
            ("http://[2001:db8::1]:8080/", Some("[2001:db8::1]")),
            ("http://[2001:db8::1]/", Some("[2001:db8::1]")),
            ("android-app://com.google.android.gm/", Some("com.google.android.gm")),
            ("/relative/path", None),
            ("-", None),
            ("about:blank", None),
            ("https:///nohost", None),
            ("1http://bad-scheme.example/", None),
            ("ftp://files.example.com/pub", Some("files.example.com")),
        ];
        for (url, host) in cases {
            assert_eq!(url_host(url).map(|(host, _)| host), host, "{url}");
        }
        // Capitals in the host only: the user part's and the path's do not count.
        assert_eq!(url_host("http://Alice@example.com/Page"), Some(("example.com", false)));
        assert_eq!(url_host("http://Example.com:8080"), Some(("Example.com", true)));
    }
}
