//! Secrets kept out of the documents: the values of query parameters that carry credentials
//! (`REDACT_QUERY_PARAMS`, on by default) and, with `REDACT_EMAILS`, e-mail addresses, replaced by
//! `REDACTED` in the request line and target (so in `url.original` and `url.query`), the query,
//! the path, the referrer and `event.original`, before the document is written.
//!
//! A parameter is `name=value` after a `?` or a `&` (or at the start of a query string; in a whole
//! log line also after a space, a tab or a quote, where a query can be logged on its own), its name
//! compared without regard to case; the value runs to the next `&`, `#`, space, quote or the end.
//! A text without a listed parameter comes back borrowed, byte for byte as it was. Names written
//! percent-encoded (`%74oken=`) are not recognised.

use std::borrow::Cow;

use memchr::{memchr, memchr_iter, memchr2_iter};

use crate::parse::find_byte_in_short;

/// What a secret value becomes.
pub const REDACTED: &str = "REDACTED";

/// The parameters redacted unless `REDACT_QUERY_PARAMS` says otherwise: credentials, tokens,
/// sessions, OAuth codes, and the signatures of pre-signed AWS and CloudFront URLs.
pub const DEFAULT_SECRET_PARAMS: [&str; 15] = [
    "password",
    "passwd",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "api_key",
    "apikey",
    "secret",
    "code",
    "session",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "Signature",
];

/// What a text is, which says where a parameter can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A URL or a request line: after `?` and `&`.
    Url,
    /// A query string without its `?`: also at its start.
    Query,
    /// A whole log line (`event.original`): also after a space, a tab or a quote.
    Line,
}

/// Which values to redact. Built once from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// Parameter names, ASCII-lowercased.
    params: Vec<Vec<u8>>,
    /// Whether a name can start with this (lowercased) byte: most `&` and `?` are passed over
    /// after one lookup.
    first_bytes: [bool; 256],
    emails: bool,
}

impl Default for Redaction {
    /// The default list, e-mail addresses left alone.
    fn default() -> Self {
        Self::new(DEFAULT_SECRET_PARAMS.iter().copied(), false)
    }
}

impl Redaction {
    /// Nothing redacted.
    pub fn off() -> Self {
        Self::new(std::iter::empty(), false)
    }

    pub fn new<'a>(params: impl IntoIterator<Item = &'a str>, emails: bool) -> Self {
        let mut first_bytes = [false; 256];
        let mut names: Vec<Vec<u8>> = Vec::new();
        for param in params {
            let name = param.as_bytes().to_ascii_lowercase();
            if let Some(&first) = name.first()
                && !names.contains(&name)
            {
                first_bytes[usize::from(first)] = true;
                names.push(name);
            }
        }
        Self { params: names, first_bytes, emails }
    }

    pub fn emails(&self) -> bool {
        self.emails
    }

    pub fn is_off(&self) -> bool {
        self.params.is_empty() && !self.emails
    }

    /// `text` with its secrets redacted.
    #[inline]
    pub fn redact<'a>(&self, text: &'a str, scope: Scope) -> Cow<'a, str> {
        if self.may_hold_secrets(text.as_bytes(), scope) {
            self.redact_found(text, scope)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Whether `text` needs a closer look: most URLs and referrers have no `?`, found in a few
    /// instructions, without the set-up of a search.
    #[inline]
    fn may_hold_secrets(&self, text: &[u8], scope: Scope) -> bool {
        if self.emails {
            return true;
        }
        // `a=b` is the shortest text that can hold a secret (`-`, an empty referrer, cannot).
        if self.params.is_empty() || text.len() < 3 {
            return false;
        }
        scope != Scope::Url || find_byte_in_short(b'?', text).is_some()
    }

    fn redact_found<'a>(&self, text: &'a str, scope: Scope) -> Cow<'a, str> {
        let mut spans = Vec::new();
        if !self.params.is_empty() {
            self.secret_values(text.as_bytes(), scope, &mut spans);
        }
        if self.emails {
            email_addresses(text.as_bytes(), &mut spans);
        }
        replace(text, spans)
    }

    /// The same for an owned or borrowed text, keeping it as it is when nothing changes.
    pub fn redact_cow<'a>(&self, text: Cow<'a, str>, scope: Scope) -> Cow<'a, str> {
        match text {
            Cow::Borrowed(text) => self.redact(text, scope),
            Cow::Owned(owned) => match self.redact(&owned, scope) {
                Cow::Borrowed(_) => Cow::Owned(owned),
                Cow::Owned(redacted) => Cow::Owned(redacted),
            },
        }
    }

    /// Where the values of listed parameters are in `text`.
    fn secret_values(&self, text: &[u8], scope: Scope, spans: &mut Vec<(usize, usize)>) {
        let mut check = |name_start: usize| {
            let Some(&first) = text.get(name_start) else { return };
            if !self.first_bytes[usize::from(first.to_ascii_lowercase())] {
                return;
            }
            let rest = &text[name_start..];
            let Some(equals) =
                rest.iter().position(|&b| matches!(b, b'=' | b'&' | b'#' | b' ' | b'"' | b'?'))
            else {
                return;
            };
            if rest[equals] != b'=' {
                return;
            }
            let name = &rest[..equals];
            if !self.params.iter().any(|param| param.eq_ignore_ascii_case(name)) {
                return;
            }
            let value_start = name_start + equals + 1;
            let value_end = text[value_start..]
                .iter()
                .position(|&b| matches!(b, b'&' | b'#' | b' ' | b'"' | b'\'' | b'\t'))
                .map_or(text.len(), |end| value_start + end);
            if value_end > value_start && &text[value_start..value_end] != REDACTED.as_bytes() {
                spans.push((value_start, value_end));
            }
        };
        match scope {
            // A URL's parameters follow its `?`: most URLs have none, found in one pass.
            Scope::Url => {
                let Some(query) = find_byte_in_short(b'?', text) else { return };
                check(query + 1);
                memchr2_iter(b'?', b'&', &text[query + 1..])
                    .for_each(|separator| check(query + 2 + separator));
            }
            Scope::Query => {
                check(0);
                memchr2_iter(b'?', b'&', text).for_each(|separator| check(separator + 1));
            }
            Scope::Line => {
                check(0);
                let starts =
                    text.iter().enumerate().filter(|(_, b)| matches!(b, b'?' | b'&' | b'"' | b' ' | b'\t'));
                starts.for_each(|(separator, _)| check(separator + 1));
            }
        }
    }
}

/// Where e-mail addresses are in `text`: `local@domain.tld`, the `@` also as `%40`.
fn email_addresses(text: &[u8], spans: &mut Vec<(usize, usize)>) {
    // `%` too: a local part may be percent-encoded (`jane%2Bweb%40example.com`).
    let local_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'%');
    let domain_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    let ats = memchr_iter(b'@', text).map(|at| (at, 1));
    let encoded = memchr_iter(b'%', text)
        .filter(|&p| text.get(p + 1..p + 3).is_some_and(|code| code.eq_ignore_ascii_case(b"40")))
        .map(|p| (p, 3));
    let mut found: Vec<(usize, usize)> = ats.chain(encoded).collect();
    found.sort_unstable();
    for (at, width) in found {
        let start = text[..at].iter().rposition(|&b| !local_byte(b)).map_or(0, |p| p + 1);
        let domain_start = at + width;
        let end = text[domain_start..]
            .iter()
            .position(|&b| !domain_byte(b))
            .map_or(text.len(), |p| domain_start + p);
        let domain = text[domain_start..end].trim_ascii_end();
        let domain = domain.strip_suffix(b".").unwrap_or(domain);
        let end = domain_start + domain.len();
        let top_level = domain.rsplit(|&b| b == b'.').next().unwrap_or_default();
        let has_dot = memchr(b'.', domain).is_some();
        if start < at && has_dot && top_level.len() >= 2 && top_level.iter().all(u8::is_ascii_alphabetic) {
            spans.push((start, end));
        }
    }
}

/// `text` with each span replaced by [`REDACTED`]; spans that overlap are merged.
fn replace(text: &str, mut spans: Vec<(usize, usize)>) -> Cow<'_, str> {
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        if end <= copied {
            continue;
        }
        let start = start.max(copied);
        // Spans start and end at ASCII bytes or the text's ends: always char boundaries.
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redaction::default().redact(text, Scope::Url).into_owned()
    }

    #[test]
    fn every_default_parameter_is_redacted_whatever_its_case() {
        for name in DEFAULT_SECRET_PARAMS {
            for written in [name.to_owned(), name.to_ascii_uppercase(), name.to_ascii_lowercase()] {
                assert_eq!(
                    redact(&format!("/p?a=1&{written}=s3cr%2Ft&b=2")),
                    format!("/p?a=1&{written}=REDACTED&b=2"),
                    "{written}"
                );
            }
        }
    }

    #[test]
    fn values_end_where_a_url_or_a_log_line_ends_them() {
        let cases = [
            ("/login?password=hunter2", "/login?password=REDACTED"),
            ("/login?password=hunter2#top", "/login?password=REDACTED#top"),
            ("GET /a?token=abc&x=1 HTTP/1.1", "GET /a?token=REDACTED&x=1 HTTP/1.1"),
            (
                r#"1.2.3.4 - - [07/Dec/2026:10:00:00 +0000] "GET /cb?code=4/0Ab&state=x HTTP/1.1" 302 0 "https://idp.example/?session=9f" "curl""#,
                r#"1.2.3.4 - - [07/Dec/2026:10:00:00 +0000] "GET /cb?code=REDACTED&state=x HTTP/1.1" 302 0 "https://idp.example/?session=REDACTED" "curl""#,
            ),
            (
                "/f.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261207&X-Amz-Signature=9a1f&X-Amz-Security-Token=IQo",
                "/f.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED",
            ),
            (
                "/v.mp4?Expires=1796&Signature=abc~def&Key-Pair-Id=K2",
                "/v.mp4?Expires=1796&Signature=REDACTED&Key-Pair-Id=K2",
            ),
            // Not parameters, or not listed: left alone.
            ("/token=abc", "/token=abc"),
            ("/p?tokens=abc&mytoken=x&token", "/p?tokens=abc&mytoken=x&token"),
            ("/p?token=", "/p?token="),
            ("/p?token=REDACTED", "/p?token=REDACTED"),
            ("/p?a=token=x", "/p?a=token=x"),
        ];
        for (text, expected) in cases {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn a_query_string_starts_with_a_parameter() {
        let redaction = Redaction::default();
        assert_eq!(redaction.redact("token=abc&page=2", Scope::Query), "token=REDACTED&page=2");
        assert_eq!(
            redaction.redact("token=abc&page=2", Scope::Url),
            "token=abc&page=2",
            "a path, not a query"
        );
        assert_eq!(
            redaction.redact("200 \"token=abc\" x", Scope::Line),
            "200 \"token=REDACTED\" x",
            "a query logged alone"
        );
    }

    #[test]
    fn a_text_without_secrets_is_the_same_text() {
        let redaction = Redaction::default();
        for text in ["/", "/search?q=boots&page=2", "/a?b&c=d#e", "", "/caf\u{e9}?x=\u{e9}&token"] {
            assert!(
                matches!(redaction.redact(text, Scope::Url), Cow::Borrowed(same) if same == text),
                "{text}"
            );
        }
        assert!(Redaction::off().is_off());
        assert_eq!(Redaction::off().redact("/p?token=abc", Scope::Url), "/p?token=abc");
    }

    #[test]
    fn a_list_of_ones_own() {
        let redaction = Redaction::new(["sid", "Auth"], false);
        assert_eq!(
            redaction.redact("/p?SID=1&auth=2&token=3", Scope::Url),
            "/p?SID=REDACTED&auth=REDACTED&token=3"
        );
        assert_eq!(
            redaction,
            Redaction::new(["SID", "auth", "sid", "AUTH"], false),
            "names are one whatever their case"
        );
    }

    #[test]
    fn email_addresses_when_asked() {
        let redaction = Redaction::new(DEFAULT_SECRET_PARAMS.iter().copied(), true);
        let cases = [
            ("/unsubscribe?email=jane.doe%2Bweb@example.co.uk&x=1", "/unsubscribe?email=REDACTED&x=1"),
            ("/u/jane.doe%40example.com/orders", "/u/REDACTED/orders"),
            ("/u/JANE@EXAMPLE.COM.", "/u/REDACTED."),
            ("https://mail.example/?to=a@b.io&token=t", "https://mail.example/?to=REDACTED&token=REDACTED"),
            // Not addresses.
            ("/@media/print.css", "/@media/print.css"),
            ("/pkg/@scope/name@1.2.3", "/pkg/@scope/name@1.2.3"),
            ("/a@localhost/", "/a@localhost/"),
            ("/100%40off", "/100%40off"),
        ];
        for (text, expected) in cases {
            assert_eq!(redaction.redact(text, Scope::Url), expected, "{text}");
        }
        assert_eq!(
            Redaction::default().redact("/u/jane@example.com", Scope::Url),
            "/u/jane@example.com",
            "off by default"
        );
    }
}
