//! Crawlers, HTTP libraries and headless browsers, recognised by the `crawler-user-agents` list
//! (data/crawler-user-agents/: MIT, ~1,500 patterns with tags such as `ai-crawler`, `seo`,
//! `http-library`; `scripts/crawler-data.sh` refreshes it).
//!
//! woothee's data stopped in 2021: it calls GPTBot a `misc crawler` and Bytespider a person. The
//! list is matched after woothee, only for user agents that are not in the user-agent cache, so a
//! returning user agent costs nothing here. The patterns are compiled into one [`RegexSet`] the
//! first time a new user agent arrives, not at start-up.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

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
    /// Each pattern as a regex of its own, compiled when it first matches (to find where).
    single: HashMap<usize, Regex>,
}

struct Compiled {
    patterns: Vec<(&'static str, Vec<&'static str>)>,
    set: RegexSet,
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
    pub fn recognise(&mut self, user_agent: &str) -> Option<Crawler> {
        let Self { compiled, single } = self;
        let compiled = compiled.get_or_init(|| {
            let patterns: Vec<_> = patterns().collect();
            let set = RegexSet::new(patterns.iter().map(|(pattern, _)| *pattern))
                .unwrap_or_else(|_| RegexSet::empty());
            Compiled { patterns, set }
        });
        let matches = compiled.set.matches(user_agent);
        let mut best: Option<(usize, usize, usize)> = None;
        // Lower is better: (a web address, shorter).
        let rank = |start: usize, end: usize| {
            (looks_like_an_address(&user_agent[start..end]), usize::MAX - (end - start))
        };
        for index in matches.iter() {
            let regex = match single.get(&index) {
                Some(regex) => regex,
                None => {
                    let Ok(regex) = Regex::new(compiled.patterns[index].0) else { continue };
                    single.entry(index).or_insert(regex)
                }
            };
            if let Some(found) = regex.find(user_agent)
                && best.is_none_or(|(_, start, end)| rank(found.start(), found.end()) < rank(start, end))
            {
                best = Some((index, found.start(), found.end()));
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
