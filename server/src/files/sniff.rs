//! A file's type from its first bytes: the only evidence the server trusts. The name and the
//! declared `Content-Type` of an upload are never consulted, so an HTML page renamed
//! `photo.png` stays an HTML page here (and is refused).
//!
//! Known types: `image/png`, `image/jpeg`, `image/gif`, `image/webp`, `application/pdf`, and
//! `text/plain` for valid UTF-8 without NUL or other control bytes (tab, line feed, carriage
//! return and form feed aside) that does not begin, after white space, with `<` (which a
//! browser could take for HTML, SVG or XML).

/// Every type [`sniff`] can answer, as a site's allow-list names them.
pub const KNOWN_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// The type of `bytes`, or `None` when it is none of the known ones.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
    ];
    if let Some((_, kind)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return Some(kind);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if is_plain_text(bytes) {
        return Some("text/plain");
    }
    None
}

/// Whether `bytes` is text no browser would take for markup.
fn is_plain_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let allowed_control = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{c}');
    if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return false;
    }
    !text.trim_start().starts_with('<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_pdf_by_their_signatures() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(sniff(b"GIF87a\x01\0\x01\0"), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
    }

    #[test]
    fn near_misses_are_not_those_types() {
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"\xff\xd8"), None);
    }

    #[test]
    fn plain_text_but_never_markup() {
        assert_eq!(sniff("hello, мир\r\n\tok".as_bytes()), Some("text/plain"));
        assert_eq!(sniff("\u{feff}with a BOM".as_bytes()), Some("text/plain"));
        for markup in [
            "<html><script>alert(1)</script>",
            "  \n<!doctype html>",
            "<svg xmlns='http://www.w3.org/2000/svg'/>",
            "<?xml version='1.0'?>",
            "\u{feff}<html>",
        ] {
            assert_eq!(sniff(markup.as_bytes()), None, "{markup}");
        }
        assert_eq!(sniff(b"nul\0inside"), None);
        assert_eq!(sniff(b"escape \x1b[31m"), None);
        assert_eq!(sniff(b"\xc3\x28 not utf-8"), None);
    }
}
