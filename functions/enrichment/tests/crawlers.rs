//! Crawler recognition against the shipped `crawler-user-agents` list (data/crawler-user-agents/).
#![allow(clippy::unwrap_used)] // a test that cannot read its fixtures should stop right there

use std::path::PathBuf;

use enrichment::UserAgentParser;
use md5::{Digest, Md5};
use regex_lite::Regex;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/crawler-user-agents").join(name)
}

fn shipped_list() -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(data("crawler-user-agents.json")).unwrap()).unwrap()
}

/// The shipped JSON is the one its VERSION names, and the embedded patterns are made from it.
#[test]
fn the_shipped_list_agrees_with_its_version_and_the_embedded_patterns() {
    let json = std::fs::read(data("crawler-user-agents.json")).unwrap();
    let version = std::fs::read_to_string(data("VERSION")).unwrap();
    let digest: String = Md5::digest(&json).iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        version.trim_end().ends_with(&format!("md5:{digest}")),
        "VERSION says {version:?}, the JSON's MD5 is {digest}: run scripts/crawler-data.sh"
    );
    let expected: Vec<(String, Vec<String>)> = shipped_list()
        .iter()
        .map(|entry| {
            let tags =
                entry["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
            (entry["pattern"].as_str().unwrap().to_owned(), tags)
        })
        .collect();
    let embedded: Vec<(String, Vec<String>)> = enrichment::crawlers::patterns()
        .map(|(pattern, tags)| (pattern.to_owned(), tags.into_iter().map(str::to_owned).collect()))
        .collect();
    assert_eq!(embedded, expected);
    assert!(std::fs::read_to_string(data("LICENSE")).unwrap().contains("MIT License"));
}

/// Every example user agent of the list is a crawler with a name, and its own pattern is among
/// the ones that match it; the pattern chosen (the longest match) carries its own tags but for a
/// few examples where a more specific pattern also matches.
#[test]
fn every_example_of_the_list_is_recognised() {
    let mut parser = UserAgentParser::new();
    let (mut examples, mut other_pattern) = (0, Vec::new());
    for entry in shipped_list() {
        let pattern = Regex::new(entry["pattern"].as_str().unwrap()).unwrap();
        let tags: Vec<&str> = entry["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        for instance in entry["instances"].as_array().unwrap() {
            let instance = instance.as_str().unwrap();
            // The list matches the first 512 bytes, as the enrichment does.
            let cut = (0..=instance.len().min(512)).rev().find(|&i| instance.is_char_boundary(i)).unwrap();
            if !pattern.is_match(&instance[..cut]) {
                continue; // the pattern's own text is past the part that is classified
            }
            examples += 1;
            let info = parser.classify(instance);
            assert_eq!(info.device, Some("Spider"), "{instance}");
            assert!(info.name.as_deref().is_some_and(|name| !name.is_empty()), "{instance}");
            if info.crawler_categories != tags {
                other_pattern.push(instance.to_owned());
            }
        }
    }
    assert!(examples > 2_000, "{examples} examples");
    assert!(other_pattern.len() * 20 < examples, "{} of {examples}: {other_pattern:?}", other_pattern.len());
}

/// The user agents the crawlers of today send, named and categorised; HTTP libraries and headless
/// browsers are automated too.
#[test]
fn crawlers_of_today() {
    let cases = [
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "GPTBot",
            Some("1.2"),
            "ai-crawler",
        ),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
            "ClaudeBot",
            Some("1.0"),
            "ai-crawler",
        ),
        (
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
            "PerplexityBot",
            Some("1.0"),
            "ai-crawler",
        ),
        (
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            "meta-externalagent",
            Some("1.1"),
            "ai-crawler",
        ),
        (
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
            "Bytespider",
            None,
            "ai-crawler",
        ),
        (
            "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
            "SemrushBot",
            Some("7"),
            "seo",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "Applebot",
            Some("0.1"),
            "search-engine",
        ),
        (
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "YandexBot",
            Some("3.0"),
            "search-engine",
        ),
        (
            "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
            "DuckDuckBot",
            Some("1.1"),
            "search-engine",
        ),
        ("python-requests/2.32.3", "python-requests", Some("2.32.3"), "http-library"),
        ("Go-http-client/1.1", "Go-http-client", Some("1.1"), "http-library"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "HeadlessChrome",
            Some("131.0.0.0"),
            "browser-automation",
        ),
    ];
    let mut parser = UserAgentParser::new();
    for (user_agent, name, version, category) in cases {
        let info = parser.classify(user_agent);
        assert_eq!(info.name.as_deref(), Some(name), "{user_agent}");
        assert_eq!(info.version.as_deref(), version, "{user_agent}");
        assert_eq!(info.device, Some("Spider"), "{user_agent}");
        assert!(info.crawler_categories.contains(&category), "{user_agent}: {:?}", info.crawler_categories);
    }
}

/// People stay people: current browsers, and every browser of the captured Apache logs.
#[test]
fn browsers_stay_people() {
    let mut user_agents: Vec<String> = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
    ]
    .map(str::to_owned)
    .to_vec();
    let requests = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/requests.jsonl"),
    )
    .unwrap();
    for request in requests.lines() {
        let request: Value = serde_json::from_str(request).unwrap();
        if let Some(hex) = request["user_agent_hex"].as_str() {
            let bytes: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            let agent = String::from_utf8_lossy(&bytes).into_owned();
            if agent.starts_with("Mozilla/5.0 (") && !agent.contains("compatible;") {
                user_agents.push(agent);
            }
        }
    }
    let mut parser = UserAgentParser::new();
    for user_agent in &user_agents {
        let info = parser.classify(user_agent);
        assert_ne!(info.device, Some("Spider"), "{user_agent}: {info:?}");
        assert!(info.crawler_categories.is_empty(), "{user_agent}: {info:?}");
        assert!(info.os_name.is_some() && info.name.is_some(), "{user_agent}: {info:?}");
    }
}

/// The list's tables are built at compile time; a regular expression of it is compiled only for a
/// user agent that holds one of the texts its matches start with, once.
#[test]
fn a_regular_expression_of_the_list_is_compiled_only_when_needed() {
    let mut parser = UserAgentParser::new();
    assert_eq!(parser.compiled_crawler_regexes(), 0);
    let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    parser.fragment(browser);
    parser.fragment("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
    assert_eq!(parser.compiled_crawler_regexes(), 0, "no text of a regular expression in them");
    parser.fragment("curl/8.5.0");
    assert_eq!(parser.compiled_crawler_regexes(), 1, "`^curl`");
    // `Ahrefs(Bot|SiteAudit)`, found through its texts `AhrefsBot` and `AhrefsSiteAudit`.
    let info = parser.classify("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)");
    assert_eq!(info.crawler_categories, ["seo"]);
    assert_eq!(parser.compiled_crawler_regexes(), 2);
    parser.classify("Mozilla/5.0 (compatible; AhrefsSiteAudit/6.1; +http://ahrefs.com/robot/site-audit)");
    assert_eq!(parser.compiled_crawler_regexes(), 2, "compiled once");
}
