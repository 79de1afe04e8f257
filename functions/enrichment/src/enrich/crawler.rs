//! Crawlers, HTTP libraries and headless browsers, recognised by the `crawler-user-agents` list
//! (data/crawler-user-agents/: MIT, ~1,500 patterns with tags such as `ai-crawler`, `seo`,
//! `http-library`; `scripts/crawler-data.sh` refreshes it).
//!
//! woothee's data stopped in 2021: it calls GPTBot a `misc crawler` and Bytespider a person. The
//! list is matched after woothee, only for user agents that are not in the user-agent cache, so a
//! returning user agent costs nothing here. Nearly every pattern is plain text (1,468 of 1,504 in
//! 1.67.0): those are found by their first four bytes (see [`Texts`]), the few real regular
//! expressions with `regex-lite`, whose compile costs microseconds where a `regex::RegexSet` of
//! them cost milliseconds, each tried only when the user agent holds one of the texts its matches
//! start with. Both are built the first time a new user agent arrives, which in a cold start is the
//! first line.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex_lite::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// `pattern<TAB>tag,tag` lines, generated from the shipped list.
const PATTERNS: &str = include_str!("../../data/crawler-user-agents/patterns.tsv");

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

/// The list, compiled on first use.
#[derive(Default)]
pub struct CrawlerList {
    compiled: OnceLock<Compiled>,
}

struct Compiled {
    patterns: Vec<(&'static str, Vec<&'static str>)>,
    /// The plain-text patterns.
    texts: Texts,
    /// The other patterns (36 of 1,504 in 1.67.0).
    regexes: Vec<PatternRegex>,
}

/// A pattern that is a real regular expression.
struct PatternRegex {
    /// Which pattern of the list it is.
    pattern: usize,
    regex: Regex,
    /// The texts one of which a user agent must hold for it to match (`None`: always tried).
    prefixes: Option<Vec<Vec<u8>>>,
}

impl Compiled {
    fn new() -> Self {
        let patterns: Vec<_> = patterns().collect();
        let (mut texts, mut regexes) = (Texts::default(), vec![]);
        for (index, (pattern, _)) in patterns.iter().enumerate() {
            match plain_text(pattern) {
                Some(text) => texts.add(index, text),
                // The shipped patterns compile (a test checks them all); were one not to, the list
                // would only recognise fewer crawlers, never stop the enrichment.
                None => regexes.extend(Regex::new(pattern).ok().map(|regex| PatternRegex {
                    pattern: index,
                    regex,
                    prefixes: prefixes(pattern),
                })),
            }
        }
        Self { patterns, texts, regexes }
    }
}

/// Plain-text patterns, found through a table keyed by their first four bytes: building it takes
/// microseconds, where an Aho-Corasick automaton over ~1,500 patterns took milliseconds, paid at
/// the first line of every cold start. A search looks up each four-byte window of the user agent
/// (a user agent is at most 512 bytes here) and compares the few texts that start with it.
#[derive(Default)]
struct Texts {
    by_prefix: HashMap<[u8; 4], Vec<(usize, String)>>,
    /// Texts shorter than four bytes, searched for one by one.
    short: Vec<(usize, String)>,
}

impl Texts {
    fn add(&mut self, pattern: usize, text: String) {
        match text.as_bytes().first_chunk::<4>() {
            Some(prefix) => self.by_prefix.entry(*prefix).or_default().push((pattern, text)),
            None if !text.is_empty() => self.short.push((pattern, text)),
            None => {}
        }
    }

    /// Calls `found(pattern, start, end)` for every occurrence of every text.
    fn find(&self, haystack: &str, mut found: impl FnMut(usize, usize, usize)) {
        let bytes = haystack.as_bytes();
        for (start, window) in bytes.windows(4).enumerate() {
            let Some(candidates) = window.first_chunk::<4>().and_then(|prefix| self.by_prefix.get(prefix))
            else {
                continue;
            };
            for (pattern, text) in candidates {
                if bytes[start..].starts_with(text.as_bytes()) {
                    found(*pattern, start, start + text.len());
                }
            }
        }
        for (pattern, text) in &self.short {
            for (start, _) in haystack.match_indices(text.as_str()) {
                found(*pattern, start, start + text.len());
            }
        }
    }
}

/// The texts every match of `pattern` starts with (`S[eE][mM]rushBot` ─▶ `SemrushBot`,
/// `SEMrushBot`, ...), found by regex-syntax's literal extractor: a user agent that holds none of
/// them cannot match, so the regex is not run. `None` when there is no such finite set.
fn prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    (!literals.is_empty() && literals.iter().all(|literal| !literal.as_bytes().is_empty()))
        .then(|| literals.iter().map(|literal| literal.as_bytes().to_vec()).collect())
}

/// A pattern that matches only one text (`Googlebot\/`), as that text.
fn plain_text(pattern: &str) -> Option<String> {
    let mut text = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            // `\/`, `\.`, `\(`: an escaped punctuation character is itself; `\d`, `\s` are classes.
            '\\' => match chars.next() {
                Some(escaped) if !escaped.is_ascii_alphanumeric() => text.push(escaped),
                _ => return None,
            },
            '^' | '$' | '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => return None,
            _ => text.push(c),
        }
    }
    Some(text)
}

impl std::fmt::Debug for CrawlerList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrawlerList")
            .field("compiled", &self.compiled.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The shipped patterns and their tags.
pub fn patterns() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    PATTERNS.lines().filter(|line| !line.starts_with('#') && !line.is_empty()).map(|line| {
        let (pattern, tags) = line.split_once('\t').unwrap_or((line, ""));
        (pattern, tags.split(',').filter(|tag| !tag.is_empty()).collect())
    })
}

impl CrawlerList {
    /// The crawler `user_agent` is, when the list knows it. Of several matching patterns, a product
    /// name beats a web address (`YandexBot` over `yandex.com/bots`), and then the one that matches
    /// the longest text is the most specific (`Googlebot-Image` over `Googlebot`).
    pub fn recognise(&self, user_agent: &str) -> Option<Crawler> {
        let compiled = self.compiled.get_or_init(Compiled::new);
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
        compiled.texts.find(user_agent, &mut consider);
        for PatternRegex { pattern, regex, prefixes } in &compiled.regexes {
            let possible = prefixes.as_ref().is_none_or(|prefixes| {
                prefixes.iter().any(|prefix| memchr::memmem::find(user_agent.as_bytes(), prefix).is_some())
            });
            if let Some(found) = possible.then(|| regex.find(user_agent)).flatten() {
                consider(*pattern, found.start(), found.end());
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
            categories: compiled.patterns[index].1.clone(),
        })
    }

    /// Whether the list has compiled (for the start-up test).
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
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
