//! Shaping rules: the lines not worth indexing (`DROP_WHEN`: health checks, probes, internal
//! traffic) and those indexed one in N (`SAMPLE_WHEN`: static assets), decided on the parsed line
//! before any GeoIP or user-agent work, so a dropped line costs no lookup.
//!
//! A setting holds rules separated by `;` or new lines; a line matches when any rule does. A rule
//! is conditions joined by ` and `, each `FIELD OP VALUE`:
//!
//! | op | meaning | fields |
//! |---|---|---|
//! | `=` | equals; a list `a,b` equals one of them | all; a status also `5xx` or `400-404` |
//! | `^=` | starts with | text fields |
//! | `$=` | ends with | text fields |
//! | `~` | matches the regular expression (`regex`, anywhere in the value) | text fields |
//! | `in` | is in one of the networks (`10.0.0.0/8,fd00::/8`) | `source.ip` |
//!
//! A value may be written in double quotes (then `;`, ` and ` and `\"` may be in it). A sampling
//! rule starts with its rate: `1/20: url.path ^= /static/`. Which lines of a sampled kind are kept
//! is decided by a hash of the line's bytes: the same line is kept or not in every function, run,
//! retry and replay.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use aho_corasick::{AhoCorasick, MatchKind, packed};
use ipnet::IpNet;
use regex::Regex;

/// A field a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    UrlPath,
    UrlQuery,
    Method,
    Status,
    SourceIp,
    UserAgent,
    DestinationDomain,
    CrawlerCategory,
}

impl Field {
    const ALL: [(&'static str, Field); 8] = [
        ("url.path", Field::UrlPath),
        ("url.query", Field::UrlQuery),
        ("http.request.method", Field::Method),
        ("http.response.status_code", Field::Status),
        ("source.ip", Field::SourceIp),
        ("user_agent.original", Field::UserAgent),
        ("destination.domain", Field::DestinationDomain),
        ("crawler.category", Field::CrawlerCategory),
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(known, _)| *known == name).map(|(_, field)| *field)
    }

    fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, field)| *field == self).map_or("", |(name, _)| name)
    }

    fn names() -> String {
        Self::ALL.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }
}

/// What a condition asks of its field.
#[derive(Debug, Clone)]
enum Test {
    OneOf(Vec<String>),
    Prefix(String),
    Suffix(String),
    /// A regular expression, and the texts one of which every match starts with, when there are
    /// a few (a rule with it is then keyed by them like a prefix).
    Matches(Regex, Option<Vec<String>>),
    Statuses(Vec<RangeInclusive<u16>>),
    Networks(Vec<IpNet>),
}

#[derive(Debug, Clone)]
struct Condition {
    field: Field,
    test: Test,
}

#[derive(Debug, Clone)]
struct Rule {
    conditions: Vec<Condition>,
    /// One line in `rate` of those the rule matches is kept (1: a drop rule keeps none).
    rate: u32,
    /// The rule has a condition whose texts (equals, starts or ends with) the raw line must hold
    /// for it to match: read only on a line where the literal search found one.
    keyed: bool,
    /// The fields its conditions test, one bit each.
    used: u8,
}

/// What a first look at the raw line says: which rules may match it, and the fields they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Rules with literals are read: the line holds one of them, or an escape that could hide one.
    keyed: bool,
    /// The fields the rules to read test; none: no rule can match, the line is kept.
    pub needed: u8,
}

impl Scan {
    pub fn needs(&self, field: Field) -> bool {
        self.needed & field.bit() != 0
    }

    /// Whether some rule may match the line: every rule tests a field, so a rule left to read
    /// needs one.
    pub fn may_match(&self) -> bool {
        self.needed != 0
    }
}

/// The values of a parsed line that the rules look at; `None` when the line has no such value.
#[derive(Debug, Clone, Default)]
pub struct LineFields<'a> {
    pub url_path: Option<Cow<'a, str>>,
    pub url_query: Option<&'a str>,
    pub method: Option<&'a str>,
    pub status: Option<u16>,
    pub source_ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
    pub destination_domain: Option<&'a str>,
    pub crawler_categories: Vec<&'static str>,
}

/// What becomes of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// A drop rule matched: no document.
    Drop,
    /// A sampling rule matched and the line is not the one in N kept: no document.
    SampledOut,
    /// A sampling rule matched and the line is kept: its document stands for this many lines.
    Sampled(u32),
}

/// `DROP_WHEN` and `SAMPLE_WHEN`, compiled once.
#[derive(Debug, Clone, Default)]
pub struct ShapingRules {
    drop: Vec<Rule>,
    sample: Vec<Rule>,
    /// The fields the rules without literals test, and those with them.
    keyless_used: u8,
    keyed_used: u8,
    /// The literals of the rules that have some, searched at once: a line that holds none of them
    /// is not read against those rules.
    literals: Option<Literals>,
}

/// Why a rule was not accepted: which rule, which condition, and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub rule: usize,
    pub condition: Option<usize>,
    pub text: String,
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}", self.rule)?;
        if let Some(condition) = self.condition {
            write!(f, ", condition {condition}")?;
        }
        write!(f, " ({:?}): {}", self.text, self.reason)
    }
}

impl ShapingRules {
    /// The rules of `DROP_WHEN` (`drop`) and `SAMPLE_WHEN` (`sample`); either may be empty.
    pub fn parse(drop: &str, sample: &str) -> Result<Self, (bool, RuleError)> {
        let drop = parse_rules(drop, false).map_err(|error| (false, error))?;
        let sample = parse_rules(sample, true).map_err(|error| (true, error))?;
        let all = || drop.iter().chain(&sample);
        let keyless_used = all().filter(|rule| !rule.keyed).fold(0, |used, rule| used | rule.used);
        let keyed_used = all().filter(|rule| rule.keyed).fold(0, |used, rule| used | rule.used);
        let literals = literals_of(all());
        Ok(Self { drop, sample, keyless_used, keyed_used, literals })
    }

    pub fn is_empty(&self) -> bool {
        self.drop.is_empty() && self.sample.is_empty()
    }

    /// Which rules may match `line` (the raw line), found in one pass over it. A rule with a key
    /// condition (equals, starts or ends with, on a field taken from the line as logged) can only
    /// match a line that holds one of its texts, when the values the rules test are pieces of the
    /// line as logged (`values_as_logged`); a value with an escape undone (`\"`, `\xe9`) or a
    /// percent-decoded path differs from the line's bytes, and then every rule is read.
    #[inline]
    pub fn scan(&self, line: &[u8], values_as_logged: bool) -> Scan {
        // Without values as logged every rule is read: no need to search.
        self.scan_found(values_as_logged && self.texts_in(line), values_as_logged)
    }

    /// Whether `line` (the raw line) holds one of the texts of the rules that have some: one pass
    /// over it.
    #[inline(always)]
    pub fn texts_in(&self, line: &[u8]) -> bool {
        self.literals.as_ref().is_some_and(|literals| literals.in_line(line))
    }

    /// [`scan`](Self::scan) once the line has been searched: whether [`texts_in`](Self::texts_in)
    /// found a text (`texts_found`).
    #[inline]
    pub fn scan_found(&self, texts_found: bool, values_as_logged: bool) -> Scan {
        let keyed = self.literals.is_some() && (texts_found || !values_as_logged);
        Scan { keyed, needed: self.keyless_used | if keyed { self.keyed_used } else { 0 } }
    }

    /// The verdict on a line: drop rules first, then the first sampling rule that matches; rules
    /// the scan ruled out are not read.
    pub fn verdict(&self, scan: Scan, fields: &LineFields<'_>, line: &[u8]) -> Verdict {
        let candidate = |rule: &&Rule| scan.keyed || !rule.keyed;
        if self.drop.iter().filter(candidate).any(|rule| rule.matches(fields)) {
            return Verdict::Drop;
        }
        match self.sample.iter().filter(candidate).find(|rule| rule.matches(fields)) {
            None => Verdict::Keep,
            Some(rule) if line_hash(line).is_multiple_of(u64::from(rule.rate)) => Verdict::Sampled(rule.rate),
            Some(_) => Verdict::SampledOut,
        }
    }
}

impl Rule {
    fn matches(&self, fields: &LineFields<'_>) -> bool {
        self.conditions.iter().all(|condition| condition.matches(fields))
    }
}

impl Condition {
    fn matches(&self, fields: &LineFields<'_>) -> bool {
        let text = |field: Field| -> Option<&str> {
            match field {
                Field::UrlPath => fields.url_path.as_deref(),
                Field::UrlQuery => fields.url_query,
                Field::Method => fields.method,
                Field::UserAgent => fields.user_agent,
                Field::DestinationDomain => fields.destination_domain,
                Field::Status | Field::SourceIp | Field::CrawlerCategory => None,
            }
        };
        match (&self.test, self.field) {
            (Test::Statuses(ranges), _) => {
                fields.status.is_some_and(|status| ranges.iter().any(|r| r.contains(&status)))
            }
            (Test::Networks(networks), _) => {
                fields.source_ip.is_some_and(|ip| networks.iter().any(|net| net.contains(&ip.to_canonical())))
            }
            (Test::OneOf(values), Field::CrawlerCategory) => {
                fields.crawler_categories.iter().any(|category| values.iter().any(|value| value == category))
            }
            (Test::OneOf(values), field) => {
                text(field).is_some_and(|text| values.iter().any(|value| value == text))
            }
            (Test::Prefix(prefix), field) => {
                text(field).is_some_and(|text| text.starts_with(prefix.as_str()))
            }
            (Test::Suffix(suffix), field) => text(field).is_some_and(|text| text.ends_with(suffix.as_str())),
            (Test::Matches(regex, _), field) => text(field).is_some_and(|text| regex.is_match(text)),
        }
    }
}

/// The texts of a rule's key condition, one of which the raw line holds wherever the condition
/// holds: its first equals, starts- or ends-with on a field taken from the line as logged, a
/// regular expression's literal starts, or a few exact statuses (logged as their digits).
fn key_texts(conditions: &[Condition]) -> Option<Vec<String>> {
    conditions.iter().find_map(|condition| match (&condition.test, condition.field) {
        (Test::Statuses(ranges), Field::Status) => {
            let count: usize = ranges.iter().map(|range| range.len()).sum();
            (count <= MAX_KEYED_STATUSES).then(|| {
                ranges.iter().flat_map(|range| range.clone().map(|status| status.to_string())).collect()
            })
        }
        (_, Field::Status | Field::SourceIp | Field::CrawlerCategory) => None,
        (Test::OneOf(values), _) => Some(values.clone()),
        (Test::Prefix(text) | Test::Suffix(text), _) => Some(vec![text.clone()]),
        (Test::Matches(_, literals), _) => literals.clone(),
        _ => None,
    })
}

/// A status condition over more values than this (`5xx`) is not keyed: its texts would be found
/// in most lines (sizes, times) and slow the search down.
const MAX_KEYED_STATUSES: usize = 10;

/// The most texts a regular expression is keyed by, so that all the rules' texts stay within
/// what the SIMD search takes (64).
const MAX_REGEX_LITERALS: usize = 16;

/// The texts one of which every match of `pattern` starts with (regex-syntax's prefix
/// extraction), cut to their first 4 or 3 bytes where there are more than [`MAX_REGEX_LITERALS`]
/// (`(?i)uptime` starts with one of 64 texts, one of 8 three-byte ones: `upt`, `UPT`, `uPt`...);
/// `None` where they stay more, or one is shorter than 3 bytes (found in too many lines).
fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let prefixes = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let literals = [None, Some(4), Some(3)].into_iter().find_map(|cut| {
        let mut cut_prefixes = prefixes.clone();
        if let Some(bytes) = cut {
            cut_prefixes.keep_first_bytes(bytes);
            cut_prefixes.dedup();
        }
        let literals = cut_prefixes.literals()?;
        (!literals.is_empty() && literals.len() <= MAX_REGEX_LITERALS).then(|| literals.to_vec())
    })?;
    literals
        .iter()
        .map(|literal| String::from_utf8(literal.as_bytes().to_vec()).ok().filter(|text| text.len() >= 3))
        .collect()
}

/// Every keyed rule's texts, searched at once; `None` without keyed rules.
fn literals_of<'a>(rules: impl Iterator<Item = &'a Rule>) -> Option<Literals> {
    let literals: Vec<String> =
        rules.filter(|rule| rule.keyed).filter_map(|rule| key_texts(&rule.conditions)).flatten().collect();
    if literals.is_empty() {
        return None;
    }
    // The packed searcher (Teddy, SIMD) alone: 300 instructions on a 200-byte line, 140 fewer than
    // through the automaton's prefilter, which also checks each candidate again. Past 64 texts
    // Teddy gives way to Rabin-Karp, and past what the packed searchers take, to the automaton
    // (leftmost-first: with the standard semantics it walks every byte, 3,000 instructions).
    let packed = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&literals)
        .build();
    match packed {
        Some(searcher) => Some(Literals::Packed(searcher)),
        None => AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&literals)
            .ok()
            .map(Literals::Automaton),
    }
}

/// The rules' texts, searched at once.
#[derive(Debug, Clone)]
enum Literals {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Literals {
    /// Whether `line` holds one of the texts.
    #[inline]
    fn in_line(&self, line: &[u8]) -> bool {
        match self {
            Self::Packed(searcher) => searcher.find(line).is_some(),
            Self::Automaton(automaton) => automaton.is_match(line),
        }
    }
}

/// FNV-1a of the line: stable across processes, versions and machines, which a seeded hasher is
/// not.
fn line_hash(line: &[u8]) -> u64 {
    line.iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The rules of one setting. A sampling setting's rules each start with `1/N:`.
fn parse_rules(text: &str, sampling: bool) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    for (index, rule_text) in split_outside_quotes(text, &[";", "\n"]).into_iter().enumerate() {
        let rule_text = rule_text.trim();
        if rule_text.is_empty() {
            continue;
        }
        let number = index + 1;
        let error = |condition: Option<usize>, text: &str, reason: String| RuleError {
            rule: number,
            condition,
            text: text.to_owned(),
            reason,
        };
        let (rate, conditions_text) = if sampling {
            let Some((rate, rest)) = rule_text.split_once(':') else {
                return Err(error(
                    None,
                    rule_text,
                    "a sampling rule starts with its rate: `1/N: conditions`".into(),
                ));
            };
            let rate = rate
                .trim()
                .strip_prefix("1/")
                .and_then(|n| n.trim().parse::<u32>().ok())
                .filter(|n| (2..=1_000_000).contains(n))
                .ok_or_else(|| {
                    error(
                        None,
                        rule_text,
                        format!("rate {:?} is not 1/N with N from 2 to 1000000", rate.trim()),
                    )
                })?;
            (rate, rest)
        } else {
            (1, rule_text)
        };
        let mut conditions = Vec::new();
        for (position, condition_text) in
            split_outside_quotes(conditions_text, &[" and "]).into_iter().enumerate()
        {
            let condition_text = condition_text.trim();
            let condition = parse_condition(condition_text)
                .map_err(|reason| error(Some(position + 1), condition_text, reason))?;
            conditions.push(condition);
        }
        let keyed = key_texts(&conditions).is_some();
        let used = conditions.iter().fold(0, |used, condition| used | condition.field.bit());
        rules.push(Rule { conditions, rate, keyed, used });
    }
    Ok(rules)
}

/// `text` cut at each of `separators` that is not inside double quotes.
fn split_outside_quotes<'a>(text: &'a str, separators: &[&str]) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut start, mut at, mut quoted) = (0, 0, false);
    let bytes = text.as_bytes();
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quoted => at += 1,
            b'"' => quoted = !quoted,
            _ if !quoted => {
                if let Some(separator) = separators.iter().find(|s| text[at..].starts_with(**s)) {
                    parts.push(&text[start..at]);
                    at += separator.len();
                    start = at;
                    continue;
                }
            }
            _ => {}
        }
        at += 1;
    }
    parts.push(&text[start..]);
    parts
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    let (name, rest) = text.split_once(char::is_whitespace).ok_or_else(|| {
        "expected FIELD OP VALUE (`url.path = /health`, `user_agent.original ^= kube-probe/`)".to_owned()
    })?;
    let field =
        Field::parse(name).ok_or_else(|| format!("unknown field {name:?}; fields are {}", Field::names()))?;
    let rest = rest.trim_start();
    let (op, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let value = unquote(value.trim())?;
    if value.is_empty() {
        return Err(format!("no value after {op:?}"));
    }
    let text_field = !matches!(field, Field::Status | Field::SourceIp | Field::CrawlerCategory);
    let test = match op {
        "=" => match field {
            Field::Status => Test::Statuses(statuses(&value)?),
            // An address is the network of itself alone: compared as one, parsed once.
            Field::SourceIp => Test::Networks(
                list(&value)
                    .iter()
                    .map(|v| {
                        v.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                            format!("{v:?} is not an IP address (networks: source.ip in CIDR,...)")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Field::CrawlerCategory => {
                let values = list(&value);
                let known = crate::enrich::crawler::categories();
                if let Some(bad) = values.iter().find(|v| !known.contains(&v.as_str())) {
                    return Err(format!(
                        "unknown crawler category {bad:?}; categories are {}",
                        known.join(", ")
                    ));
                }
                Test::OneOf(values)
            }
            _ => Test::OneOf(list(&value)),
        },
        "^=" if text_field => Test::Prefix(value),
        "$=" if text_field => Test::Suffix(value),
        "~" if text_field => Test::Matches(
            Regex::new(&value)
                .map_err(|error| format!("the regular expression does not compile: {error}"))?,
            regex_literals(&value),
        ),
        "in" if field == Field::SourceIp => Test::Networks(
            list(&value)
                .iter()
                .map(|net| {
                    net.parse::<IpNet>()
                        .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("{net:?} is not a network (10.0.0.0/8, fd00::/8) or an address"))
                })
                .collect::<Result<_, _>>()?,
        ),
        "^=" | "$=" | "~" | "in" => {
            return Err(format!("{op:?} does not apply to {}; it takes {}", field.name(), ops_of(field)));
        }
        other => return Err(format!("unknown operator {other:?}; {} takes {}", field.name(), ops_of(field))),
    };
    Ok(Condition { field, test })
}

fn ops_of(field: Field) -> &'static str {
    match field {
        Field::Status => "= (200, 5xx, 400-404, or a list of them)",
        Field::SourceIp => "= (addresses) or in (networks)",
        Field::CrawlerCategory => "= (categories)",
        _ => "=, ^=, $= or ~",
    }
}

/// A value as written: bare, or in double quotes with `\"` and `\\` inside.
fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"') else { return Ok(value.to_owned()) };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    Ok(out)
                } else {
                    Err(format!("text after the quoted value: {:?}", chars.as_str()))
                };
            }
            c => out.push(c),
        }
    }
    Err("a quoted value without its closing quote".into())
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect()
}

/// `200`, `5xx`, `400-404`, or a list of them.
fn statuses(value: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    list(value)
        .iter()
        .map(|item| {
            let bad = || format!("{item:?} is not a status (200), a class (5xx) or a range (400-404)");
            let number = |text: &str| text.parse::<u16>().ok().filter(|n| (100..=999).contains(n));
            if let Some(class) =
                item.strip_suffix("xx").and_then(|d| d.parse::<u16>().ok()).filter(|d| (1..=9).contains(d))
            {
                Ok(class * 100..=class * 100 + 99)
            } else if let Some((low, high)) = item.split_once('-') {
                match (number(low), number(high)) {
                    (Some(low), Some(high)) if low <= high => Ok(low..=high),
                    _ => Err(bad()),
                }
            } else {
                number(item).map(|n| n..=n).ok_or_else(bad)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use memchr::memchr2;

    use super::*;

    /// A scan that reads every rule (the scan itself is tested on its own).
    const READ_ALL: Scan = Scan { keyed: true, needed: u8::MAX };

    fn may(rules: &ShapingRules, line: &[u8]) -> bool {
        // As the enricher asks: values taken from the line as logged unless it has an escape or
        // a percent-encoding.
        rules.scan(line, memchr2(b'%', b'\\', line).is_none()).may_match()
    }

    fn fields() -> LineFields<'static> {
        LineFields {
            url_path: Some(Cow::Borrowed("/static/app.css")),
            url_query: Some("v=3"),
            method: Some("GET"),
            status: Some(200),
            source_ip: "10.0.3.7".parse().ok(),
            user_agent: Some("ELB-HealthChecker/2.0"),
            destination_domain: Some("shop.example"),
            crawler_categories: vec!["monitoring"],
        }
    }

    fn drops(rules: &str, fields: &LineFields<'_>) -> bool {
        let rules = ShapingRules::parse(rules, "").unwrap();
        // Read as if the raw line held every text (the scan is tested on its own).
        rules.verdict(READ_ALL, fields, b"line") == Verdict::Drop
    }

    #[test]
    fn each_kind_of_condition() {
        let line = fields();
        let cases = [
            ("url.path = /static/app.css", true),
            ("url.path = /health,/static/app.css", true),
            ("url.path = /static", false),
            ("url.path ^= /static/", true),
            ("url.path $= .css", true),
            ("url.path $= .js", false),
            (r"url.path ~ \.(css|js)$", true),
            ("url.query = v=3", true),
            ("http.request.method = HEAD,OPTIONS", false),
            ("http.response.status_code = 2xx", true),
            ("http.response.status_code = 400-404,5xx", false),
            ("http.response.status_code = 200", true),
            ("source.ip in 10.0.0.0/8", true),
            ("source.ip in 192.168.0.0/16, fd00::/8", false),
            ("source.ip = 10.0.3.7", true),
            ("user_agent.original ^= ELB-HealthChecker/", true),
            ("user_agent.original ^= kube-probe/", false),
            ("destination.domain $= .example", true),
            ("crawler.category = monitoring", true),
            ("crawler.category = search-engine,seo", false),
        ];
        for (rule, expected) in cases {
            assert_eq!(drops(rule, &line), expected, "{rule}");
        }
        // A value the line does not have never matches.
        assert!(!drops("url.query ^= v", &LineFields::default()));
        assert!(!drops(
            "http.response.status_code = 1xx,2xx,3xx,4xx,5xx",
            &LineFields { status: None, ..fields() }
        ));
        assert!(!drops("source.ip in 0.0.0.0/0", &LineFields::default()));
    }

    #[test]
    fn and_inside_a_rule_or_between_rules() {
        let line = fields();
        assert!(drops("url.path ^= /static/ and http.response.status_code = 200", &line));
        assert!(!drops("url.path ^= /static/ and http.response.status_code = 404", &line));
        assert!(drops("url.path = /nope; user_agent.original ^= ELB", &line));
        assert!(drops("url.path = /nope\n\nsource.ip in 10.0.0.0/8\n", &line));
        assert!(!drops("url.path = /nope; url.path = /also-not", &line));
        assert!(!drops("", &line), "no rule, no drop");
        // Quoted values keep their separators.
        let agent =
            LineFields { user_agent: Some("Mozilla/5.0 (compatible; Probe and \"check\")"), ..fields() };
        assert!(drops(r#"user_agent.original = "Mozilla/5.0 (compatible; Probe and \"check\")""#, &agent));
    }

    #[test]
    fn sampling_keeps_the_same_one_in_n_every_time() {
        let rules = ShapingRules::parse("", "1/10: url.path ^= /static/ and http.response.status_code = 200")
            .unwrap();
        let line = fields();
        let lines: Vec<String> =
            (0..10_000).map(|n| format!("10.0.0.{} GET /static/{n}.css", n % 250)).collect();
        let verdicts: Vec<Verdict> =
            lines.iter().map(|l| rules.verdict(READ_ALL, &line, l.as_bytes())).collect();
        let kept = verdicts.iter().filter(|v| **v == Verdict::Sampled(10)).count();
        assert!((900..=1100).contains(&kept), "{kept} of 10,000 kept");
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::SampledOut).count(), 10_000 - kept);
        let again: Vec<Verdict> =
            lines.iter().map(|l| rules.verdict(READ_ALL, &line, l.as_bytes())).collect();
        assert_eq!(verdicts, again, "the same lines every time");
        // FNV-1a's published test vector: the hash is the same on every machine and version.
        assert_eq!(line_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        // Not matched: kept whole; dropped beats sampled.
        assert_eq!(
            rules.verdict(READ_ALL, &LineFields { status: Some(404), ..fields() }, b"x"),
            Verdict::Keep
        );
        let both = ShapingRules::parse("url.path ^= /static/", "1/2: url.path ^= /static/").unwrap();
        assert_eq!(both.verdict(READ_ALL, &line, b"x"), Verdict::Drop);
    }

    #[test]
    fn a_rule_that_is_not_accepted_says_where_and_why() {
        let error = |drop: &str, sample: &str| ShapingRules::parse(drop, sample).unwrap_err();
        let cases = [
            (
                "url.path = /ok; url.pth = /x",
                "",
                false,
                2,
                Some(1),
                "unknown field \"url.pth\"; fields are url.path, url.query,",
            ),
            (
                "url.path == /x",
                "",
                false,
                1,
                Some(1),
                "unknown operator \"==\"; url.path takes =, ^=, $= or ~",
            ),
            (
                "url.path = /a and url.path ~ (",
                "",
                false,
                1,
                Some(2),
                "the regular expression does not compile",
            ),
            ("source.ip in 10.0.0.0/33", "", false, 1, Some(1), "\"10.0.0.0/33\" is not a network"),
            (
                "http.response.status_code = 6xx0",
                "",
                false,
                1,
                Some(1),
                "is not a status (200), a class (5xx) or a range",
            ),
            (
                "http.response.status_code ^= 5",
                "",
                false,
                1,
                Some(1),
                "\"^=\" does not apply to http.response.status_code",
            ),
            (
                "crawler.category = robots",
                "",
                false,
                1,
                Some(1),
                "unknown crawler category \"robots\"; categories are",
            ),
            ("url.path =", "", false, 1, Some(1), "no value after \"=\""),
            ("url.path = \"/x", "", false, 1, Some(1), "a quoted value without its closing quote"),
            (
                "",
                "url.path ^= /static/",
                true,
                1,
                None,
                "a sampling rule starts with its rate: `1/N: conditions`",
            ),
            (
                "",
                "1/1: url.path ^= /static/",
                true,
                1,
                None,
                "rate \"1/1\" is not 1/N with N from 2 to 1000000",
            ),
        ];
        for (drop, sample, in_sample, rule, condition, reason) in cases {
            let (sampling, found) = error(drop, sample);
            assert_eq!(
                (sampling, found.rule, found.condition),
                (in_sample, rule, condition),
                "{drop}{sample}"
            );
            assert!(
                found.reason.starts_with(reason) || found.reason.contains(reason),
                "{drop}{sample}: {found}"
            );
        }
        assert_eq!(
            error("url.path = /a; nonsense", "").1.to_string(),
            "rule 2, condition 1 (\"nonsense\"): expected FIELD OP VALUE (`url.path = /health`, `user_agent.original ^= kube-probe/`)"
        );
    }

    #[test]
    fn a_line_without_any_rules_text_is_passed_over_unread() {
        let rules =
            ShapingRules::parse("user_agent.original ^= ELB-HealthChecker/; url.path = /health,/healthz", "")
                .unwrap();
        let visit = br#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /pricing HTTP/1.1" 200 5 "-" "Mozilla/5.0""#;
        assert!(!may(&rules, visit));
        assert!(may(&rules, br#"10.0.1.17 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ELB-HealthChecker/2.0""#));
        assert!(may(&rules, b"GET /healthz"));
        // An escape or a percent-encoding may hide a text: such lines are read field by field.
        assert!(may(&rules, br#"... "GET /h%65alth HTTP/1.1" ..."#));
        assert!(may(&rules, br#"... "Mozilla/5.0 \"x\"" ..."#));
        // A rule with no text to look for (a status, a network) reads every line.
        assert!(may(&ShapingRules::parse("http.response.status_code = 5xx", "").unwrap(), visit));
        assert!(may(&ShapingRules::parse("url.path ^= /x; source.ip in 10.0.0.0/8", "").unwrap(), visit));
        assert!(!may(&ShapingRules::default(), visit), "no rules");
        // Sampling rules' texts count too.
        assert!(may(&ShapingRules::parse("", "1/5: url.path ^= /pri").unwrap(), visit));
    }

    #[test]
    fn many_texts_are_looked_for_as_surely_as_a_few() {
        // 300 texts: more than the SIMD searcher takes.
        let paths: Vec<String> = (0..300).map(|n| format!("/probe-{n:03}")).collect();
        let rules = ShapingRules::parse(&format!("url.path = {}", paths.join(",")), "").unwrap();
        assert!(may(&rules, br#"10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /probe-299 HTTP/1.1" 200 5"#));
        assert!(!may(&rules, br#"10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /probe-3x HTTP/1.1" 200 5"#));
        assert!(!may(&rules, br#"10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /pricing HTTP/1.1" 200 5"#));
        assert!(may(&rules, b"/probe-000"), "a line shorter than the SIMD search's block");
        assert!(matches!(rules.literals, Some(Literals::Automaton(_))), "past the packed searchers");
    }

    #[test]
    fn regular_expressions_and_exact_statuses_are_looked_for_by_their_texts() {
        let visit = br#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "GET /pricing HTTP/1.1" 200 5 "-" "Mozilla/5.0""#;
        let robot = br#"203.0.113.7 - - [07/Dec/2026:10:00:00 +0000] "HEAD / HTTP/1.1" 200 5 "-" "Mozilla/5.0+(compatible; UptimeRobot/2.0)""#;
        let case_blind = ShapingRules::parse("user_agent.original ~ (?i)uptime", "").unwrap();
        assert!(!may(&case_blind, visit), "no text any match starts with");
        assert!(may(&case_blind, robot));
        assert!(may(&case_blind, b"... \"uPtImE-kuma/1\""), "every case of the first letters");
        assert!(matches!(case_blind.literals, Some(Literals::Packed(_))), "eight texts: the SIMD search");
        // The texts every match starts with: an alternation's, a prefix before a repetition's.
        let alternation = ShapingRules::parse(r"url.path ~ ^/(wp-admin|wp-login\.php)", "").unwrap();
        assert!(!may(&alternation, visit));
        assert!(may(&alternation, b"GET /wp-login.php?x=1"));
        // No text every match starts with (`.*`), or one too short to tell lines apart: every line.
        assert!(may(&ShapingRules::parse("user_agent.original ~ .*bot", "").unwrap(), visit));
        assert!(may(&ShapingRules::parse("url.path ~ ^/.", "").unwrap(), visit));
        // A few exact statuses are looked for as their digits; a class is not.
        let status = ShapingRules::parse("http.response.status_code = 499,444", "").unwrap();
        assert!(!may(&status, visit));
        assert!(may(&status, br#"... "GET / HTTP/1.1" 499 0 "-" "curl/8""#));
        assert!(may(&ShapingRules::parse("http.response.status_code = 4xx", "").unwrap(), visit));
        // What the search lets through is still read field by field.
        let fields = LineFields { status: Some(200), user_agent: Some("x 499 uptime"), ..fields() };
        assert!(!drops("http.response.status_code = 499", &fields));
        assert!(drops("user_agent.original ~ (?i)uptime", &fields));
    }

    #[test]
    fn uses_names_the_fields_the_rules_read() {
        let rules = ShapingRules::parse("url.path = /health", "1/5: crawler.category = seo").unwrap();
        // The sampling rule has no text to look for: its field is always read.
        let quiet = rules.scan(b"GET /pricing", true);
        assert!(quiet.needs(Field::CrawlerCategory) && !quiet.needs(Field::UrlPath));
        let health = rules.scan(b"GET /health", true);
        assert!(health.needs(Field::CrawlerCategory) && health.needs(Field::UrlPath));
        assert!(!health.needs(Field::SourceIp));
        assert!(ShapingRules::default().is_empty());
    }
}
