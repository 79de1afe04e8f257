//! How the crawler list's patterns are read and sorted into plain texts and regular expressions.
//! The build script (`build.rs`) runs this at compile time and writes the result as static tables
//! (`crawler_table.rs` in `OUT_DIR`), so no function pays for it at its first user agent; the
//! crate's tests run it too.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// The `pattern<TAB>tag,tag` lines of the list, without comments and blank lines.
pub fn parse_patterns(tsv: &str) -> Vec<(&str, Vec<&str>)> {
    tsv.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (pattern, tags) = line.split_once('\t').unwrap_or((line, ""));
            (pattern, tags.split(',').filter(|tag| !tag.is_empty()).collect())
        })
        .collect()
}

/// A pattern that matches only one text (`Googlebot\/`), as that text.
pub fn plain_text(pattern: &str) -> Option<String> {
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

/// The texts every match of `pattern` starts with (`S[eE][mM]rushBot` ─▶ `SemrushBot`,
/// `SEMrushBot`, ...), found by regex-syntax's literal extractor: a user agent that holds none of
/// them cannot match, so the regex is not run. `None` when there is no such finite set.
pub fn prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    (!literals.is_empty() && literals.iter().all(|literal| !literal.as_bytes().is_empty()))
        .then(|| literals.iter().map(|literal| literal.as_bytes().to_vec()).collect())
}
