//! User agents through `woothee` (the only module that uses it), behind a bounded cache.
//!
//! Real logs repeat a few hundred user agents, so each distinct string is classified once and its
//! whole `user_agent` object is written once: a returning user agent costs a hash lookup and a
//! copy. The cache holds at most [`CACHE_CAPACITY`] entries and starts over when full, which bounds
//! memory whatever a hostile client sends; strings longer than [`MAX_PARSED_LEN`] are classified by
//! their first bytes (every browser and crawler says who it is there) and never cached.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::crawler::CrawlerList;
use crate::document::{ObjectWriter, schema};

/// The `user_agent.*` fields besides `original`, named as ECS names them. Absent values are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgentInfo {
    pub name: Option<Box<str>>,
    /// A version (it starts with a digit); woothee's other texts (`curl` for HTTP libraries) are not.
    pub version: Option<Box<str>>,
    /// `Windows`, `iOS`, `Mac OS X`, `Android`, ...: one name per operating system.
    pub os_name: Option<Box<str>>,
    /// `10`, `18.1`, `XP`: the version as people name it.
    pub os_version: Option<Box<str>>,
    /// Name and version as people write them: `Windows 10`, `iOS 18.1`.
    pub os_full: Option<Box<str>>,
    /// `Desktop`, `Smartphone`, `Mobile Phone`, `Spider`, `Appliance` or `Other`.
    pub device: Option<&'static str>,
    /// A crawler, HTTP library or headless browser the crawler list knows: its tags.
    pub crawler_categories: Vec<&'static str>,
}

pub const CACHE_CAPACITY: usize = 4096;
pub const MAX_PARSED_LEN: usize = 512;

#[derive(Default)]
pub struct UserAgentParser {
    parser: woothee::parser::Parser,
    crawlers: CrawlerList,
    /// User agent ─▶ its `user_agent` object and crawler categories, as JSON.
    cache: HashMap<Box<str>, CachedFragments, RandomState>,
    uncached: CachedFragments,
}

#[derive(Default)]
struct CachedFragments {
    user_agent: Vec<u8>,
    categories: Option<Vec<u8>>,
}

impl CachedFragments {
    fn of(original: &str, info: &UserAgentInfo) -> Self {
        let mut fragments = Self::default();
        fragments.write(Some(original), info);
        fragments
    }

    /// `original` is `None` for a document that must shrink; the object is then empty when
    /// nothing is known about the user agent.
    fn write(&mut self, original: Option<&str>, info: &UserAgentInfo) {
        self.user_agent.clear();
        write_fragment(&mut self.user_agent, original, info);
        if self.user_agent == b"{}" {
            self.user_agent.clear();
        }
        self.categories = (!info.crawler_categories.is_empty()).then(|| {
            let mut json = Vec::new();
            let mut doc = ObjectWriter::new(&mut json);
            doc.strings(schema::CATEGORIES, info.crawler_categories.iter().copied());
            doc.finish();
            json
        });
    }

    fn borrowed(&self) -> UserAgentFragments<'_> {
        UserAgentFragments { user_agent: &self.user_agent, crawler: self.categories.as_deref() }
    }
}

/// What a user agent adds to a document, as JSON.
#[derive(Debug, Clone, Copy)]
pub struct UserAgentFragments<'a> {
    /// The `user_agent` object; empty when there is nothing to write.
    pub user_agent: &'a [u8],
    /// The `Crawler` object (`{"categories":[...]}`) of a recognised crawler.
    pub crawler: Option<&'a [u8]>,
}

impl std::fmt::Debug for UserAgentParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentParser").field("cached", &self.cache.len()).finish_non_exhaustive()
    }
}

impl UserAgentParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// What woothee and the crawler list find in `user_agent` (uncached).
    pub fn classify(&mut self, user_agent: &str) -> UserAgentInfo {
        let mut cut = user_agent.len().min(MAX_PARSED_LEN);
        while !user_agent.is_char_boundary(cut) {
            cut -= 1;
        }
        let user_agent = &user_agent[..cut];
        let mut info = classify(&self.parser, user_agent);
        // A crawler the list knows is automated, whatever woothee thought. woothee's own crawler
        // names are kept (`Googlebot Mobile`, `Yahoo! Japan`); where woothee has none (`misc
        // crawler`, `HTTP Library`, or a browser it was fooled by) the list's name is the crawler's.
        if let Some(crawler) = self.crawlers.recognise(user_agent) {
            let woothee_named = info.device == Some("Spider")
                && info.name.as_deref().is_some_and(|name| name != "misc crawler");
            if woothee_named {
                info.version = info.version.or(crawler.version);
            } else {
                info.name = Some(crawler.name);
                info.version = crawler.version;
            }
            info.device = Some("Spider");
            info.crawler_categories = crawler.categories;
        }
        info
    }

    /// The document's `user_agent` object for `user_agent` (`original` and the fields found), and
    /// its `Crawler` object, as JSON.
    pub fn fragment(&mut self, user_agent: &str) -> UserAgentFragments<'_> {
        if user_agent.len() > MAX_PARSED_LEN {
            let info = self.classify(user_agent);
            self.uncached.write(Some(user_agent), &info);
            return self.uncached.borrowed();
        }
        if !self.cache.contains_key(user_agent) {
            if self.cache.len() >= CACHE_CAPACITY {
                self.cache.clear();
            }
            let info = self.classify(user_agent);
            self.cache.insert(user_agent.into(), CachedFragments::of(user_agent, &info));
        }
        self.cache[user_agent].borrowed()
    }

    /// How many of the crawler list's regular expressions have been compiled (each is, at the
    /// first user agent not cached that holds one of the texts its matches start with).
    pub fn compiled_crawler_regexes(&self) -> usize {
        self.crawlers.compiled_regexes()
    }

    /// [`Self::fragment`] without `user_agent.original`, for a document that must shrink; uncached.
    pub fn fragment_without_original(&mut self, user_agent: &str) -> UserAgentFragments<'_> {
        let info = self.classify(user_agent);
        self.uncached.write(None, &info);
        self.uncached.borrowed()
    }

    /// Distinct user agents held right now.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

fn write_fragment(out: &mut Vec<u8>, original: Option<&str>, info: &UserAgentInfo) {
    let mut doc = ObjectWriter::new(out);
    if let Some(original) = original {
        doc.string(schema::ORIGINAL, original);
    }
    if let Some(name) = &info.name {
        doc.string(schema::NAME, name);
    }
    if let Some(version) = &info.version {
        doc.string(schema::VERSION, version);
    }
    doc.open(schema::OS);
    if let Some(name) = &info.os_name {
        doc.string(schema::NAME, name);
    }
    if let Some(version) = &info.os_version {
        doc.string(schema::VERSION, version);
    }
    if let Some(full) = &info.os_full {
        doc.string(schema::FULL, full);
    }
    doc.close();
    if let Some(device) = info.device {
        doc.open(schema::DEVICE);
        doc.string(schema::NAME, device);
        doc.close();
    }
    doc.finish();
}

fn classify(parser: &woothee::parser::Parser, user_agent: &str) -> UserAgentInfo {
    let Some(result) = parser.parse(user_agent) else { return UserAgentInfo::default() };
    let known = |value: &str| {
        let value = value.trim();
        (!value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN).then(|| Box::from(value))
    };
    let (os_name, os_version) = ecs_os(result.os, result.os_version.trim());
    let os_full = os_name.map(|name| match os_version {
        Some(version) => format!("{name} {version}").into_boxed_str(),
        None => Box::from(name),
    });
    UserAgentInfo {
        name: known(result.name),
        version: known(result.version).filter(|version| version.starts_with(|c: char| c.is_ascii_digit())),
        os_name: os_name.map(Box::from),
        os_version: os_version.map(Box::from),
        os_full,
        crawler_categories: Vec::new(),
        device: match result.category {
            "pc" => Some("Desktop"),
            "smartphone" => Some("Smartphone"),
            "mobilephone" => Some("Mobile Phone"),
            "crawler" => Some("Spider"),
            "appliance" => Some("Appliance"),
            "misc" => Some("Other"),
            _ => None,
        },
    }
}

/// woothee's operating system and its version ─▶ ECS's `os.name` and `os.version`.
///
/// woothee names some systems with their version (`Windows 10`), some by device (`iPhone`, `iPad`)
/// and some in its own spelling (`Mac OSX`); ECS wants one name per system and the version apart,
/// so that a visitor's system is one slice of a chart whatever the release.
fn ecs_os<'a>(os: &'a str, os_version: &'a str) -> (Option<&'a str>, Option<&'a str>) {
    let os = os.trim();
    if os.is_empty() || os == woothee::woothee::VALUE_UNKNOWN {
        return (None, None);
    }
    // A version is what starts with a digit (woothee gives `NT 10.0` for Windows, `amd64` for BSD).
    let version = Some(os_version).filter(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    match os {
        "Windows UNKNOWN Ver" => (Some("Windows"), None),
        "Windows Phone OS" => (Some("Windows Phone"), version),
        "Windows CE" | "Windows RSSReader" => (Some(os), version),
        // `Windows 10`, `Windows 8.1`, `Windows XP`, `Windows NT 4.0`: the release names the version.
        _ if os.starts_with("Windows ") => (Some("Windows"), Some(&os["Windows ".len()..])),
        "Mac OSX" => (Some("Mac OS X"), version),
        "Mac OS Classic" => (Some("Mac OS"), version),
        "iPhone" | "iPad" | "iPod" | "iOS" => (Some("iOS"), version),
        "ChromeOS" => (Some("Chrome OS"), version),
        // `8.2-RELEASE-p3 amd64`: the release, without the machine.
        "BSD" => (Some("FreeBSD"), version.and_then(|v| v.split_whitespace().next())),
        "BlackBerry 10" => (Some("BlackBerry"), Some("10")),
        "SymbianOS" => (Some("Symbian OS"), version),
        _ => (Some(os), version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, version: &str, os: &str, os_version: &str, device: &'static str) -> UserAgentInfo {
        let some = |v: &str| (!v.is_empty()).then(|| Box::from(v));
        let full = match (os, os_version) {
            ("", _) => "".to_owned(),
            (os, "") => os.to_owned(),
            (os, version) => format!("{os} {version}"),
        };
        UserAgentInfo {
            name: some(name),
            version: some(version),
            os_name: some(os),
            os_version: some(os_version),
            os_full: some(&full),
            device: (!device.is_empty()).then_some(device),
            crawler_categories: Vec::new(),
        }
    }

    fn crawler(name: &str, version: &str, categories: &[&'static str]) -> UserAgentInfo {
        UserAgentInfo { crawler_categories: categories.to_vec(), ..info(name, version, "", "", "Spider") }
    }

    #[test]
    fn browsers_mobiles_and_crawlers() {
        let cases = [
            (
                "chrome on windows",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                info("Chrome", "131.0.0.0", "Windows", "10", "Desktop"),
            ),
            (
                "firefox on linux",
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                info("Firefox", "133.0", "Linux", "", "Desktop"),
            ),
            (
                "edge",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
                info("Edge", "131.0.2903.70", "Windows", "10", "Desktop"),
            ),
            (
                "safari on iphone",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                info("Safari", "18.1", "iOS", "18.1", "Smartphone"),
            ),
            (
                "chrome on android",
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
                info("Chrome", "131.0.6778.81", "Android", "14", "Smartphone"),
            ),
            (
                "googlebot",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                crawler("Googlebot", "2.1", &["search-engine"]),
            ),
            (
                "bingbot",
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                crawler("bingbot", "2.0", &["search-engine"]),
            ),
            ("curl", "curl/8.5.0", crawler("curl", "8.5.0", &["http-library"])),
            (
                "feature phone",
                "DoCoMo/2.0 P903i(c100;TB;W24H12)",
                info("docomo", "", "docomo", "", "Mobile Phone"),
            ),
            (
                "game console",
                "Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)",
                info("PlayStation 4", "", "PlayStation 4", "3.11", "Appliance"),
            ),
            (
                "safari on mac",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                info("Safari", "18.1", "Mac OS X", "10.15.7", "Desktop"),
            ),
            (
                "ipad",
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                info("Safari", "17.5", "iOS", "17.5", "Smartphone"),
            ),
            (
                "windows xp",
                "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)",
                info("Internet Explorer", "8.0", "Windows", "XP", "Desktop"),
            ),
            (
                "windows 7",
                "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
                info("Internet Explorer", "11.0", "Windows", "7", "Desktop"),
            ),
            (
                "chrome os",
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                info("Chrome", "131.0.0.0", "Chrome OS", "", "Desktop"),
            ),
            (
                "freebsd",
                "Mozilla/5.0 (X11; FreeBSD 8.2-RELEASE-p3 amd64; rv:5.0) Gecko/20100101 Firefox/5.0",
                info("Firefox", "5.0", "FreeBSD", "8.2-RELEASE-p3", "Desktop"),
            ),
            ("unknown", "SomethingNobodyKnows/1.0", info("", "", "", "", "")),
            ("empty", "", info("", "", "", "", "")),
        ];
        let mut parser = UserAgentParser::new();
        for (name, user_agent, expected) in cases {
            assert_eq!(parser.classify(user_agent), expected, "{name}");
            // The cached fragment says the same, twice.
            for _ in 0..2 {
                let json: serde_json::Value =
                    serde_json::from_slice(parser.fragment(user_agent).user_agent).unwrap();
                assert_eq!(json["original"], user_agent, "{name}");
                assert_eq!(json["name"].as_str(), expected.name.as_deref(), "{name}");
                assert_eq!(json["os"]["version"].as_str(), expected.os_version.as_deref(), "{name}");
                assert_eq!(json["os"]["full"].as_str(), expected.os_full.as_deref(), "{name}");
                assert_eq!(json["device"]["name"].as_str(), expected.device, "{name}");
            }
        }
    }

    #[test]
    fn cache_is_bounded() {
        let mut parser = UserAgentParser::new();
        for i in 0..CACHE_CAPACITY * 2 + 5 {
            parser.fragment(&format!("Bot{i}/1.0"));
            assert!(parser.cached() <= CACHE_CAPACITY);
        }
        let long = format!(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) {}",
            "é".repeat(2000)
        );
        let before = parser.cached();
        let json: serde_json::Value = serde_json::from_slice(parser.fragment(&long).user_agent).unwrap();
        assert_eq!(json["device"]["name"], "Spider");
        assert_eq!(json["original"], long.as_str(), "the original is kept whole");
        assert_eq!(parser.cached(), before, "long user agents are not cached");
    }
}
