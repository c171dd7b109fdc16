//! Small DOM helpers. Every text from a visitor, an agent or the site goes in as a text node
//! (never as HTML); links become anchors only for `http:` and `https:` addresses.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

pub(crate) fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .unwrap_or_else(|| wasm_bindgen::throw_str("no document"))
}

/// A new element with a class (empty: none).
pub(crate) fn el(tag: &str, class: &str) -> Element {
    let element = document()
        .create_element(tag)
        .unwrap_or_else(|_| wasm_bindgen::throw_str("create_element"));
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element
}

/// A new element holding `text` as text.
pub(crate) fn text_el(tag: &str, class: &str, text: &str) -> Element {
    let element = el(tag, class);
    element.set_text_content(Some(text));
    element
}

pub(crate) fn append(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

pub(crate) fn set_attr(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

pub(crate) fn html(element: &Element) -> Option<&HtmlElement> {
    element.dyn_ref::<HtmlElement>()
}

pub(crate) fn set_hidden(element: &Element, hidden: bool) {
    if let Some(e) = html(element) {
        e.set_hidden(hidden);
    }
}

pub(crate) fn focus(element: &Element) {
    if let Some(e) = html(element) {
        let _ = e.focus();
    }
}

/// Appends `text` to `parent`, with each `http://` or `https://` address as a link that opens
/// in a new tab without a referrer or opener. Anything else (`javascript:`, markup) stays text.
pub(crate) fn append_linked_text(parent: &Element, text: &str) {
    let doc = document();
    for (piece, is_link) in split_links(text) {
        if is_link {
            let a = el("a", "");
            set_attr(&a, "href", piece);
            set_attr(&a, "target", "_blank");
            set_attr(&a, "rel", "noopener noreferrer");
            a.set_text_content(Some(piece));
            append(parent, &a);
        } else {
            let _ = parent.append_child(&doc.create_text_node(piece));
        }
    }
}

/// Splits text into runs, each either an http(s) link or plain text.
///
/// (Written with checked splits and byte scans: a panicking slice or a substring search
/// would bring their formatting and search code into the module.)
pub(crate) fn split_links(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some((before, from)) = find_link_start(rest).and_then(|at| rest.split_at_checked(at))
    {
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(from.len());
        let (link, _) = from.split_at_checked(end).unwrap_or((from, ""));
        // Trailing punctuation belongs to the sentence, not the address.
        let link = link.trim_end_matches(['.', ',', ')', '!', '?', ';', ':', '\'']);
        if !before.is_empty() {
            out.push((before, false));
        }
        out.push((link, true));
        rest = from.get(link.len()..).unwrap_or_default();
    }
    if !rest.is_empty() {
        out.push((rest, false));
    }
    out
}

/// Where the first `http://` or `https://` (in any case) starts, if something follows it.
fn find_link_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let starts_with = |at: usize, scheme: &[u8]| {
        bytes
            .get(at..at + scheme.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(scheme))
    };
    let (at, scheme_len) = (0..bytes.len()).find_map(|at| {
        if starts_with(at, b"https://") {
            Some((at, 8))
        } else if starts_with(at, b"http://") {
            Some((at, 7))
        } else {
            None
        }
    })?;
    // A scheme with nothing after it is not a link.
    match text.get(at + scheme_len..)?.chars().next() {
        Some(c) if !c.is_whitespace() => Some(at),
        _ => None,
    }
}

/// Up to two initials of a display name, for the agent's avatar.
pub(crate) fn initials(name: &str) -> String {
    let firsts: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .collect();
    upper_case(&firsts)
}

/// The browser's upper case: the same Unicode mapping as Rust's, without its case tables in
/// the module.
#[cfg(target_arch = "wasm32")]
fn upper_case(text: &str) -> String {
    js_sys::JsString::from(text).to_upper_case().into()
}

#[cfg(not(target_arch = "wasm32"))]
fn upper_case(text: &str) -> String {
    text.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_are_links() {
        assert_eq!(
            split_links("see https://x.example/a?b=1, or javascript:alert(1)"),
            vec![
                ("see ", false),
                ("https://x.example/a?b=1", true),
                (", or javascript:alert(1)", false)
            ]
        );
        assert_eq!(
            split_links("<img src=x onerror=alert(1)>"),
            vec![("<img src=x onerror=alert(1)>", false)]
        );
        assert_eq!(
            split_links("http:// nothing"),
            vec![("http:// nothing", false)]
        );
        assert_eq!(
            split_links("HTTPS://A.example/x and http://b.example"),
            vec![
                ("HTTPS://A.example/x", true),
                (" and ", false),
                ("http://b.example", true)
            ]
        );
        assert_eq!(
            split_links("é http://ü.example/<b>"),
            vec![("é ", false), ("http://ü.example/", true), ("<b>", false)]
        );
        assert_eq!(
            split_links("(http://a.example)."),
            vec![("(", false), ("http://a.example", true), (").", false)]
        );
    }

    #[test]
    fn initials_take_two_words() {
        assert_eq!(initials("maya chen"), "MC");
        assert_eq!(initials("Jonas"), "J");
        assert_eq!(initials("  "), "");
        assert_eq!(initials("élodie ßeta"), "ÉSS");
    }
}
