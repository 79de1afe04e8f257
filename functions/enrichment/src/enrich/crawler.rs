//! Crawlers, HTTP libraries and headless browsers, recognised by the `crawler-user-agents` list
//! (data/crawler-user-agents/: MIT, ~1,500 patterns with tags such as `ai-crawler`, `seo`,
//! `http-library`; `scripts/crawler-data.sh` refreshes it).
//!
//! woothee's data stopped in 2021: it calls GPTBot a `misc crawler` and Bytespider a person. The
//! list is matched after woothee, only for user agents that are not in the user-agent cache, so a
//! returning user agent costs nothing here. Nearly every pattern is plain text (1,468 of 1,504 in
//! 1.67.0): those are found by their first four bytes (see [`find_texts`]), the few real regular
//! expressions with `regex-lite`, each tried only when the user agent holds one of the texts its
//! matches start with. The tables are built at compile time by build.rs (with
//! `crawler_patterns`): built at the first user agent, they cost a cold start more than
//! classifying it (4.7 M instructions of the first line's 7.3 M). They name their strings by
//! offsets into two long texts, so loading the binary relocates no pointers for them. A regular
//! expression is compiled the first time a user agent holds one of its texts.

use std::sync::OnceLock;

use regex_lite::Regex;

mod table {
    include!(concat!(env!("OUT_DIR"), "/crawler_table.rs"));
}

/// Every category the list's patterns carry, sorted.
pub fn categories() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = table::TAG_SETS.iter().flat_map(|tags| tags.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// What the list says about a user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crawler {
    /// The name as the user agent spells it: the text the pattern matched (`GPTBot`,
    /// `python-requests`, `HeadlessChrome`).
    pub name: Box<str>,
    /// The version written after the name (`GPTBot/1.2` ─▶ `1.2`), if any.
    pub version: Option<Box<str>>,
    /// The pattern's tags: `ai-crawler`, `search-engine`, `http-library`, `browser-automation`, ...
    pub categories: Vec<&'static str>,
}

/// A pattern of the list: its text in [`table::PATTERN_TEXT`], its tags (an index of
/// [`table::TAG_SETS`]).
struct PatternEntry {
    start: u32,
    end: u32,
    tags: u8,
}

impl PatternEntry {
    fn text(&self) -> &'static str {
        table::PATTERN_TEXT.get(self.start as usize..self.end as usize).unwrap_or_default()
    }

    fn tags(&self) -> &'static [&'static str] {
        table::TAG_SETS.get(usize::from(self.tags)).copied().unwrap_or_default()
    }
}

/// A plain-text pattern: which pattern it is, and its text in [`table::PLAIN_TEXT`].
struct TextEntry {
    pattern: u16,
    start: u32,
    end: u32,
}

impl TextEntry {
    fn text(&self) -> &'static str {
        table::PLAIN_TEXT.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// The plain texts whose first four bytes are `prefix`.
fn texts_starting(prefix: u32) -> &'static [TextEntry] {
    let Ok(at) = table::PREFIX_KEYS.binary_search(&prefix) else { return &[] };
    &table::TEXT_ENTRIES[usize::from(table::PREFIX_STARTS[at])..usize::from(table::PREFIX_STARTS[at + 1])]
}

/// A pattern of the list that is a real regular expression.
struct PatternRegex {
    /// Which pattern of the list it is.
    pattern: u16,
    source: &'static str,
    /// The texts one of which a user agent must hold for it to match (`None`: always tried).
    prefixes: Option<&'static [&'static [u8]]>,
}

/// The list: its tables are static (see build.rs); of its regular expressions, each is compiled
/// the first time a user agent holds one of the texts its matches start with.
pub struct CrawlerList {
    /// One per entry of [`table::REGEXES`].
    regexes: Box<[OnceLock<Option<Regex>>]>,
}

impl Default for CrawlerList {
    fn default() -> Self {
        Self { regexes: table::REGEXES.iter().map(|_| OnceLock::new()).collect() }
    }
}

/// Calls `found(pattern, start, end)` for every occurrence of every plain-text pattern: each
/// four-byte window of the user agent (at most 512 bytes here) is looked up among the texts'
/// first four bytes, and the few texts that start with it are compared.
fn find_texts(haystack: &str, mut found: impl FnMut(usize, usize, usize)) {
    let bytes = haystack.as_bytes();
    for (start, window) in bytes.windows(4).enumerate() {
        let Some(prefix) = window.first_chunk::<4>().map(|prefix| u32::from_be_bytes(*prefix)) else {
            continue;
        };
        for entry in texts_starting(prefix) {
            let text = entry.text();
            if bytes[start..].starts_with(text.as_bytes()) {
                found(usize::from(entry.pattern), start, start + text.len());
            }
        }
    }
    for entry in table::SHORT_TEXTS {
        let text = entry.text();
        for (start, _) in haystack.match_indices(text) {
            found(usize::from(entry.pattern), start, start + text.len());
        }
    }
}

impl std::fmt::Debug for CrawlerList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrawlerList").field("compiled_regexes", &self.compiled_regexes()).finish()
    }
}

/// The shipped patterns and their tags, in the list's order.
pub fn patterns() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    table::PATTERNS.iter().map(|entry| (entry.text(), entry.tags().to_vec()))
}

impl CrawlerList {
    /// The crawler `user_agent` is, when the list knows it. Of several matching patterns, a product
    /// name beats a web address (`YandexBot` over `yandex.com/bots`), and then the one that matches
    /// the longest text is the most specific (`Googlebot-Image` over `Googlebot`).
    pub fn recognise(&self, user_agent: &str) -> Option<Crawler> {
        let mut best: Option<(usize, usize, usize)> = None;
        // Lower is better: (a web address, shorter).
        let rank = |start: usize, end: usize| {
            (looks_like_an_address(&user_agent[start..end]), usize::MAX - (end - start))
        };
        let mut consider = |index: usize, start: usize, end: usize| {
            if best.is_none_or(|(_, best_start, best_end)| rank(start, end) < rank(best_start, best_end)) {
                best = Some((index, start, end));
            }
        };
        find_texts(user_agent, &mut consider);
        for (PatternRegex { pattern, source, prefixes }, regex) in table::REGEXES.iter().zip(&self.regexes) {
            let possible = prefixes.is_none_or(|prefixes| {
                prefixes.iter().any(|prefix| memchr::memmem::find(user_agent.as_bytes(), prefix).is_some())
            });
            if !possible {
                continue;
            }
            // build.rs has compiled every pattern once; were one not to compile here, the list
            // would only recognise fewer crawlers, never stop the enrichment.
            let regex = regex.get_or_init(|| Regex::new(source).ok());
            if let Some(found) = regex.as_ref().and_then(|regex| regex.find(user_agent)) {
                consider(usize::from(*pattern), found.start(), found.end());
            }
        }
        let (index, start, end) = best?;
        // A web address names the crawler only through its product token (`YandexBot/3.0` for
        // `yandex.com/bots`), when the user agent has one.
        let matched = &user_agent[start..end];
        let (start, end) = if looks_like_an_address(matched) {
            product_token_for(user_agent, matched).unwrap_or((start, end))
        } else {
            (start, end)
        };
        let raw = &user_agent[start..end];
        let name = raw
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '/');
        let name = if name.is_empty() { raw.trim() } else { name };
        let name_end = start + raw.find(name).unwrap_or(0) + name.len();
        Some(Crawler {
            name: Box::from(name),
            version: version_after(user_agent, name_end),
            categories: table::PATTERNS[index].tags().to_vec(),
        })
    }

    /// How many of the list's regular expressions have been compiled so far.
    pub fn compiled_regexes(&self) -> usize {
        self.regexes.iter().filter(|regex| regex.get().is_some()).count()
    }
}

/// `yandex.com/bots`, `http://…`: a web address inside the user agent, not the crawler's name.
fn looks_like_an_address(text: &str) -> bool {
    let inner = text.trim_end_matches('/');
    inner.contains("://") || inner.starts_with("www.") || (inner.contains('.') && inner.contains('/'))
}

/// The product token (`YandexBot/3.0`) whose name holds the address's site name (`yandex` of
/// `yandex.com/bots`): where it is, without its version.
fn product_token_for(user_agent: &str, address: &str) -> Option<(usize, usize)> {
    let host = address.split("://").last()?.split('/').next()?;
    let labels: Vec<&str> = host.split('.').filter(|label| !label.is_empty() && *label != "www").collect();
    let site =
        labels.len().checked_sub(2).and_then(|i| labels.get(i)).or(labels.first())?.to_ascii_lowercase();
    let mut at = 0;
    for token in user_agent.split([' ', ';', '(', ')', '+', ',']) {
        let start = at;
        at += token.len() + 1;
        let name = token.split('/').next().unwrap_or(token);
        if !name.is_empty() && !name.contains('.') && name.to_ascii_lowercase().contains(&site) {
            return Some((start, start + name.len()));
        }
    }
    None
}

/// `/1.2.3` right after the name ─▶ `1.2.3`.
fn version_after(user_agent: &str, at: usize) -> Option<Box<str>> {
    let rest = user_agent.get(at..)?.strip_prefix('/')?;
    let length = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..length]).filter(|v| v.starts_with(|c: char| c.is_ascii_digit())).map(Box::from)
}

#[cfg(test)]
mod tests {
    use super::super::crawler_patterns::{parse_patterns, plain_text, prefixes};
    use super::*;

    const TSV: &str = include_str!("../../data/crawler-user-agents/patterns.tsv");

    #[test]
    fn patterns_are_sorted_into_texts_and_regular_expressions() {
        assert_eq!(plain_text(r"Googlebot\/"), Some("Googlebot/".into()));
        assert_eq!(plain_text(r"yandex\.com\/bots"), Some("yandex.com/bots".into()));
        for regex in [r"^Seekbot", r"[wW]get", r"Ahrefs(Bot|SiteAudit)", r"\d+bot", "a.b"] {
            assert_eq!(plain_text(regex), None, "{regex}");
        }
        let semrush = prefixes(r"S[eE][mM]rushBot").unwrap();
        assert!(semrush.iter().all(|text| text.starts_with(b"S")), "{semrush:?}");
        assert!(semrush.iter().any(|text| b"SEMrushBot".starts_with(text)), "{semrush:?}");
        assert_eq!(
            prefixes(r"Ahrefs(Bot|SiteAudit)"),
            Some(vec![b"AhrefsBot".to_vec(), b"AhrefsSiteAudit".to_vec()])
        );
        assert_eq!(prefixes(r"(^| )sentry\/"), Some(vec![b"sentry/".to_vec(), b" sentry/".to_vec()]));
        assert_eq!(prefixes(r".*bot"), None, "no finite set of texts a match starts with");
    }

    /// The static tables are what reading the list at run time would give.
    #[test]
    fn the_tables_hold_every_pattern_of_the_shipped_list() {
        let patterns = parse_patterns(TSV);
        assert_eq!(patterns.len(), table::PATTERNS.len());
        let mut texts = 0;
        for (index, (pattern, tags)) in patterns.iter().enumerate() {
            assert_eq!(
                (table::PATTERNS[index].text(), table::PATTERNS[index].tags()),
                (*pattern, tags.as_slice())
            );
            match plain_text(pattern) {
                Some(text) if text.len() >= 4 => {
                    let key = u32::from_be_bytes(*text.as_bytes().first_chunk::<4>().unwrap());
                    let found = texts_starting(key)
                        .iter()
                        .any(|entry| usize::from(entry.pattern) == index && entry.text() == text);
                    assert!(found, "{pattern}");
                    texts += 1;
                }
                Some(text) => {
                    let found = table::SHORT_TEXTS
                        .iter()
                        .any(|entry| usize::from(entry.pattern) == index && entry.text() == text);
                    assert!(found, "{pattern}");
                }
                None => {
                    let regex =
                        table::REGEXES.iter().find(|regex| usize::from(regex.pattern) == index).unwrap();
                    assert_eq!(regex.source, *pattern);
                    let expected = prefixes(pattern);
                    let tabled = regex
                        .prefixes
                        .map(|texts| texts.iter().map(|text| text.to_vec()).collect::<Vec<_>>());
                    assert_eq!(tabled, expected, "{pattern}");
                    assert!(Regex::new(pattern).is_ok(), "{pattern}");
                }
            }
        }
        assert_eq!(table::TEXT_ENTRIES.len(), texts);
        assert_eq!(table::PREFIX_STARTS.len(), table::PREFIX_KEYS.len() + 1);
        assert_eq!(table::PREFIX_STARTS.last().map(|&end| usize::from(end)), Some(texts));
        assert!(table::PREFIX_KEYS.windows(2).all(|pair| pair[0] < pair[1]), "sorted, each key once");
    }
}
