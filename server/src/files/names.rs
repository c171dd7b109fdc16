//! File names: the uploader's name cleaned for showing and saving, and the
//! `Content-Disposition` a download carries (RFC 6266, with the RFC 5987 `filename*` for
//! names beyond plain ASCII).

/// The longest cleaned name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The uploader's name without any folder part, control or bidirectional-override
/// characters, or surrounding white space and dots, at most [`MAX_NAME_CHARS`] characters
/// (the extension kept). A name with nothing left is `file`.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .collect();
    let trimmed = kept.trim().trim_matches('.').trim();
    if trimmed.is_empty() {
        return "file".into();
    }
    if trimmed.chars().count() <= MAX_NAME_CHARS {
        return trimmed.to_owned();
    }
    // Too long: keep the end's extension (if short) and as much of the stem as fits.
    let extension = trimmed
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| (1..=10).contains(&ext.chars().count()));
    match extension {
        Some(ext) => {
            let stem: String = trimmed
                .chars()
                .take(MAX_NAME_CHARS - ext.chars().count() - 1)
                .collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => trimmed.chars().take(MAX_NAME_CHARS).collect(),
    }
}

/// Characters that reorder text on screen (`invoice\u{202e}fdp.exe` shows as `invoiceexe.pdf`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `inline` (images, shown in place) or `attachment` (anything else, saved), with an ASCII
/// `filename` for old clients and the exact name in `filename*`.
pub fn content_disposition(name: &str, inline: bool) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(name)
    )
}

/// RFC 5987 `value-chars`: `attr-char`s as they are, every other byte as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_controls_and_overrides_go() {
        assert_eq!(clean_name("C:\\Users\\me\\photo.png"), "photo.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("re\u{7}port\n.pdf"), "report.pdf");
        assert_eq!(clean_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_name("  .hidden.txt  "), "hidden.txt");
        assert_eq!(clean_name("dir/"), "file");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name("фото отпуска.jpg"), "фото отпуска.jpg");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.png", "a".repeat(500));
        let cleaned = clean_name(&long);
        assert_eq!(cleaned.chars().count(), MAX_NAME_CHARS);
        assert!(cleaned.ends_with(".png"));
    }

    #[test]
    fn dispositions_quote_safely() {
        assert_eq!(
            content_disposition("photo.png", true),
            "inline; filename=\"photo.png\"; filename*=UTF-8''photo.png"
        );
        assert_eq!(
            content_disposition("счёт \"1\".pdf", false),
            "attachment; filename=\"____ _1_.pdf\"; \
             filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82%20%221%22.pdf"
        );
    }
}
