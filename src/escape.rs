//! Text that standin did not write itself (live values, AWS messages, journal lines) made safe
//! for a terminal. A planted value holding `\r`, ESC or an OSC sequence could otherwise move
//! the cursor, recolour or rewrite a plan line, or hide text (bidirectional overrides), and a
//! planted newline could add a line that looks like standin's own.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that change how text around them is drawn: every control character (C0, DEL,
/// C1), and the invisible format characters that reorder or hide text.
fn disguises(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// A value for display: as it is when it holds nothing that disguises; otherwise quoted, with
/// every such character (newlines too) and every `\` and `"` escaped. A shown value that starts
/// with `"` is therefore always the escaped form, never a value that looks like one.
pub fn value(text: &str) -> Cow<'_, str> {
    if !text.starts_with('"') && !text.chars().any(disguises) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if disguises(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// Text on its way to a terminal or log: every character that disguises is escaped, except the
/// line breaks and tabs of standin's own layout (values inside were escaped by [`value`]).
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| disguises(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if disguises(c) && c != '\n' && c != '\t' {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A URL as standin shows or keeps it: scheme, host, port and path. Credentials
/// (`user:password@`), the query and the fragment are dropped (`?…` says a query was there),
/// since a token in any of them must never reach a plan, a journal, a report or a webhook.
/// Text that is not a URL is not shown.
pub fn url(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(url) => {
            let mut shown = origin_of(&url);
            shown.push_str(url.path());
            if url.query().is_some() {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

/// Only a URL's scheme, host and port (a webhook's path is its secret).
pub fn origin(text: &str) -> String {
    reqwest::Url::parse(text).map_or_else(
        |_| "(a URL that does not parse)".to_owned(),
        |u| origin_of(&u),
    )
}

fn origin_of(url: &reqwest::Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        let _ = write!(out, ":{port}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_disguise_are_quoted_and_escaped() {
        assert_eq!(value("prod-db.example.com"), "prod-db.example.com");
        assert_eq!(value("a b \\ 'c'"), "a b \\ 'c'");
        assert_eq!(value("line1\nINJECTED=1"), "\"line1\\nINJECTED=1\"");
        assert_eq!(value("ok\r~ fake line"), "\"ok\\r~ fake line\"");
        assert_eq!(
            value("\u{1b}]8;;http://x\u{7}"),
            "\"\\u{1b}]8;;http://x\\u{7}\""
        );
        assert_eq!(value("abc\u{202e}fed"), "\"abc\\u{202e}fed\"");
        // Starting with a quote: escaped, so it cannot pass for an escaped value.
        assert_eq!(value("\"a\\nb\""), "\"\\\"a\\\\nb\\\"\"");
        assert_eq!(value("\u{85}"), "\"\\u{85}\"");
    }

    #[test]
    fn terminal_text_keeps_its_own_layout() {
        assert_eq!(terminal("a\n\tb"), "a\n\tb");
        assert_eq!(terminal("a\u{1b}[2Jb\rc"), "a\\u{1b}[2Jb\\rc");
    }

    #[test]
    fn a_url_is_shown_without_credentials_query_or_fragment() {
        assert_eq!(
            super::url("http://admin:hunter2@app.example.com:8080/health?token=abc#x"),
            "http://app.example.com:8080/health?…"
        );
        assert_eq!(
            super::url("https://app.example.com/"),
            "https://app.example.com/"
        );
        assert_eq!(super::url("not a url"), "(a URL that does not parse)");
        assert_eq!(
            super::origin("https://hooks.example.com:8443/services/T0/B0/secret"),
            "https://hooks.example.com:8443"
        );
    }
}
