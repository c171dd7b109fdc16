//! Short names for the panel module's imports and exports.
//!
//! wasm-bindgen names each import after the JavaScript it calls plus a hash
//! (`__wbg_appendChild_7465eba84213c75f`) and each closure shim after its Rust path; both
//! names are written twice, in the module's import or export section and in the glue, and the
//! hashes do not compress. [`shorten`] renames each of them to a short unique name
//! (`_0`, `_1`, …) in both files, and the import module `./panel_bg.js` to `a`. The glue's
//! references are whole words, so a plain word-wise replacement is exact; [`shorten`] fails
//! rather than guess when the glue does not look as expected.

use std::collections::HashMap;

use anyhow::{Context, bail};

/// The import module wasm-bindgen's `--target web` glue names.
const IMPORT_MODULE: &str = "./panel_bg.js";
/// Exports kept as they are: the glue's public entry point and short names.
const KEEP: [&str; 2] = ["memory", "start"];

/// The module and glue with short names.
pub(crate) fn shorten(wasm: &[u8], glue: &str) -> anyhow::Result<(Vec<u8>, String)> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        bail!("not a version-1 Wasm module");
    }
    let mut renames: HashMap<String, String> = HashMap::new();
    let mut next = 0usize;
    let mut fresh = |old: &str, renames: &mut HashMap<String, String>| -> String {
        renames
            .entry(old.to_owned())
            .or_insert_with(|| {
                let name = short_name(next);
                next += 1;
                name
            })
            .clone()
    };
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, body) = leb(wasm, at + 1)?;
        let end = body + size as usize;
        let section = wasm
            .get(body..end)
            .context("a section runs past the module")?;
        let rewritten = match id {
            2 => Some(imports(section, |old| fresh(old, &mut renames))?),
            7 => Some(exports(section, |old| {
                if KEEP.contains(&old) {
                    old.to_owned()
                } else {
                    fresh(old, &mut renames)
                }
            })?),
            _ => None,
        };
        match rewritten {
            Some(bytes) => {
                out.push(id);
                put_leb(&mut out, bytes.len() as u64);
                out.extend_from_slice(&bytes);
            }
            None => out.extend_from_slice(&wasm[at..end]),
        }
        at = end;
    }

    let quoted_module = format!("\"{IMPORT_MODULE}\":");
    if glue.matches(&quoted_module).count() != 1 {
        bail!("the glue does not name the import module {IMPORT_MODULE} once: update the build");
    }
    let glue = glue.replace(&quoted_module, "a:");
    let glue = replace_words(&glue, &renames);
    for old in renames.keys() {
        if contains_word(&glue, old) {
            bail!("the glue still names {old} after renaming");
        }
    }
    Ok((out, glue))
}

/// `_0`…`_9`, `_a`…`_z`, `_10`, … : short, and never a JavaScript keyword.
fn short_name(mut n: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut name = Vec::new();
    loop {
        name.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    name.push(b'_');
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

fn imports(section: &[u8], mut rename: impl FnMut(&str) -> String) -> anyhow::Result<Vec<u8>> {
    let (count, mut at) = leb(section, 0)?;
    let mut out = Vec::new();
    put_leb(&mut out, count);
    for _ in 0..count {
        let (module, next) = name(section, at)?;
        let (field, next) = name(section, next)?;
        let desc_end = import_desc_end(section, next)?;
        let (module, field) = if module == IMPORT_MODULE {
            ("a".to_owned(), rename(field))
        } else {
            (module.to_owned(), field.to_owned())
        };
        put_name(&mut out, &module);
        put_name(&mut out, &field);
        out.extend_from_slice(&section[next..desc_end]);
        at = desc_end;
    }
    if at != section.len() {
        bail!("the import section has trailing bytes");
    }
    Ok(out)
}

fn exports(section: &[u8], mut rename: impl FnMut(&str) -> String) -> anyhow::Result<Vec<u8>> {
    let (count, mut at) = leb(section, 0)?;
    let mut out = Vec::new();
    put_leb(&mut out, count);
    for _ in 0..count {
        let (export, next) = name(section, at)?;
        let kind = *section.get(next).context("truncated export")?;
        let (_, end) = leb(section, next + 1)?;
        put_name(&mut out, &rename(export));
        out.push(kind);
        out.extend_from_slice(&section[next + 1..end]);
        at = end;
    }
    if at != section.len() {
        bail!("the export section has trailing bytes");
    }
    Ok(out)
}

/// Where an import's description (after its two names) ends.
fn import_desc_end(section: &[u8], at: usize) -> anyhow::Result<usize> {
    let byte = |i: usize| section.get(i).copied().context("truncated import");
    let limits = |i: usize| -> anyhow::Result<usize> {
        let flags = byte(i)?;
        let (_, mut end) = leb(section, i + 1)?;
        if flags & 1 == 1 {
            end = leb(section, end)?.1;
        }
        Ok(end)
    };
    Ok(match byte(at)? {
        0 => leb(section, at + 1)?.1,
        1 => limits(at + 2)?,
        2 => limits(at + 1)?,
        3 => at + 3,
        4 => leb(section, at + 2)?.1,
        kind => bail!("unknown import kind {kind}"),
    })
}

fn leb(bytes: &[u8], mut at: usize) -> anyhow::Result<(u64, usize)> {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = *bytes.get(at).context("truncated LEB128 number")?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value, at));
        }
        shift += 7;
        if shift > 63 {
            bail!("LEB128 number too long");
        }
    }
}

fn put_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn name(bytes: &[u8], at: usize) -> anyhow::Result<(&str, usize)> {
    let (len, start) = leb(bytes, at)?;
    let end = start + len as usize;
    let text = bytes.get(start..end).context("truncated name")?;
    Ok((
        std::str::from_utf8(text).context("a name is not UTF-8")?,
        end,
    ))
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    put_leb(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// `text` with every whole-word occurrence of a key of `renames` replaced.
fn replace_words(text: &str, renames: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_word_char) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c| !is_word_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        out.push_str(renames.get(word).map_or(word, String::as_str));
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c| !is_word_char(c)).any(|w| w == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        put_leb(&mut out, body.len() as u64);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn renames_imports_and_exports_in_module_and_glue() {
        let mut imports = vec![2];
        put_name(&mut imports, IMPORT_MODULE);
        put_name(&mut imports, "__wbg_log_0123456789abcdef");
        imports.extend([0, 0]);
        put_name(&mut imports, IMPORT_MODULE);
        put_name(&mut imports, "__wbindgen_init_externref_table");
        imports.extend([0, 1]);
        let mut exports = vec![3];
        put_name(&mut exports, "memory");
        exports.extend([2, 0]);
        put_name(&mut exports, "__wbindgen_malloc");
        exports.extend([0, 0x81, 0x01]);
        put_name(&mut exports, "start");
        exports.extend([0, 2]);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend(section(1, &[0]));
        wasm.extend(section(2, &imports));
        wasm.extend(section(7, &exports));
        let glue = "const i = { __wbg_log_0123456789abcdef: function(a) { console.log(a); },\n\
                    __wbindgen_init_externref_table: function() {} };\n\
                    return { \"./panel_bg.js\": i };\nwasm.__wbindgen_malloc(1); wasm.start(); \
                    wasm.memory; x__wbindgen_malloc;";
        let (module, glue) = shorten(&wasm, glue).unwrap_or_default();
        assert_eq!(
            glue,
            "const i = { _0: function(a) { console.log(a); },\n_1: function() {} };\n\
             return { a: i };\nwasm._2(1); wasm.start(); wasm.memory; x__wbindgen_malloc;"
        );
        let mut expected_imports = vec![2];
        for name in ["_0", "_1"] {
            put_name(&mut expected_imports, "a");
            put_name(&mut expected_imports, name);
            expected_imports.extend([0, u8::from(name == "_1")]);
        }
        let mut expected_exports = vec![3];
        put_name(&mut expected_exports, "memory");
        expected_exports.extend([2, 0]);
        put_name(&mut expected_exports, "_2");
        expected_exports.extend([0, 0x81, 0x01]);
        put_name(&mut expected_exports, "start");
        expected_exports.extend([0, 2]);
        let mut expected = b"\0asm\x01\0\0\0".to_vec();
        expected.extend(section(1, &[0]));
        expected.extend(section(2, &expected_imports));
        expected.extend(section(7, &expected_exports));
        assert_eq!(module, expected);
    }

    #[test]
    fn short_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..2000).map(short_name).collect();
        assert_eq!(names.len(), 2000);
        assert_eq!(short_name(0), "_0");
        assert_eq!(short_name(36), "_10");
    }
}
