//! Lean JSON for the panel: a small parser into [`Value`] and a writer of compact JSON text.
//!
//! serde's derived decoders are generic code, copied for every type and every deserializer,
//! and internally tagged enums (every frame) buffer each field before decoding it: most of a
//! serde-based module is that. The panel reads a handful of shapes, so it walks a parsed tree
//! by hand instead ([`crate::wire`]). Numbers stay as written (the protocol sends integers
//! only), so no float parsing or formatting is compiled in.
//!
//! The writer escapes strings exactly as serde_json does, so the JSON the panel sends and
//! stores is byte for byte what serde_json wrote for the same values.

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// A number as written: read it with [`Value::as_u64`] or [`Value::as_i64`].
    Num(String),
    Str(String),
    Arr(Vec<Value>),
    /// Fields in the order written.
    Obj(Vec<(String, Value)>),
}

/// How deep arrays and objects may nest (serde_json's limit is 128).
const MAX_DEPTH: u32 = 64;

/// Parses one JSON text; `None` if it is not valid JSON (or nests too deeply).
pub(crate) fn parse(text: &str) -> Option<Value> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    (parser.at == text.len()).then_some(value)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn rest(&self) -> &str {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.byte()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn word(&mut self, word: &str, value: Value) -> Option<Value> {
        let found = self.rest().starts_with(word);
        found.then(|| {
            self.at += word.len();
            value
        })
    }

    fn value(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        if self.peek()? != b'"' {
                            return None;
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        fields.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Value::Obj(fields))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Value::Arr(items))
            }
            b'"' => self.string().map(Value::Str),
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'n' => self.word("null", Value::Null),
            _ => self.number(),
        }
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Option<String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(byte) = self.byte() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // Runs end at ASCII bytes, so they are whole characters.
            out.push_str(self.text.get(start..self.at)?);
            match self.byte()? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    let escape = self.text.as_bytes().get(self.at + 1).copied()?;
                    self.at += 2;
                    out.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                // A raw control character.
                _ => return None,
            }
        }
    }

    /// The character of a `\u` escape (after the `u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            // A lone low surrogate is no character.
            return char::from_u32(high);
        }
        if !self.rest().starts_with("\\u") {
            return None;
        }
        self.at += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        let mut code = 0;
        for byte in digits.bytes() {
            code = code * 16 + char::from(byte).to_digit(16)?;
        }
        Some(code)
    }

    /// `-? int frac? exp?` as JSON writes numbers, kept as text.
    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        if self.byte() == Some(b'-') {
            self.at += 1;
        }
        match self.byte()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.byte() == Some(b'.') {
            self.at += 1;
            self.require_digits()?;
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.byte() {
                self.at += 1;
            }
            self.require_digits()?;
        }
        self.text
            .get(start..self.at)
            .map(|n| Value::Num(n.to_owned()))
    }

    fn digits(&mut self) {
        while self.byte().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn require_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

impl Value {
    /// An object's field.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// An optional field: absent and `null` are both none.
    pub(crate) fn opt(&self, key: &str) -> Option<&Value> {
        self.get(key).filter(|value| **value != Value::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }

    /// A whole number in `u64`'s range (not `1.0`, as serde refuses that too).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Num(text) => digits(text),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Num(text) => match text.strip_prefix('-') {
                Some(magnitude) => 0i64.checked_sub_unsigned(digits(magnitude)?),
                None => i64::try_from(digits(text)?).ok(),
            },
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Arr(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Obj(fields) => Some(fields),
            _ => None,
        }
    }
}

/// Decimal digits as a number, if they fit (`str::parse`, with less code: no sign or radix).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for c in text.chars() {
        n = n.checked_mul(10)?.checked_add(u64::from(c.to_digit(10)?))?;
    }
    Some(n)
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it.
pub(crate) fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let byte = c as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[byte >> 4]));
                out.push(char::from(HEX[byte & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a whole number.
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// A whole number as text (without the formatting machinery of `to_string`).
pub(crate) fn number(n: u64) -> String {
    let mut out = String::new();
    push_u64(&mut out, n);
    out
}

pub(crate) fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// A JSON object written field by field, in order.
pub(crate) struct Obj(String);

impl Obj {
    pub(crate) fn new() -> Self {
        Self(String::from("{"))
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        quote(&mut self.0, key);
        self.0.push(':');
        &mut self.0
    }

    pub(crate) fn str(mut self, key: &str, value: &str) -> Self {
        quote(self.key(key), value);
        self
    }

    pub(crate) fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.str(key, value),
            None => self,
        }
    }

    pub(crate) fn u64(mut self, key: &str, value: u64) -> Self {
        push_u64(self.key(key), value);
        self
    }

    pub(crate) fn i64(mut self, key: &str, value: i64) -> Self {
        push_i64(self.key(key), value);
        self
    }

    pub(crate) fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// A field whose value is already JSON text.
    pub(crate) fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key).push_str(json);
        self
    }

    pub(crate) fn done(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

impl Value {
    /// The value as compact JSON text (numbers as they were written).
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => b.write(out),
            Value::Num(n) => out.push_str(n),
            Value::Str(text) => quote(out, text),
            Value::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Obj(fields) => {
                out.push('{');
                for (i, (key, item)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(out, key);
                    out.push(':');
                    item.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// JSON text of an object, as [`json!`] builds it.
#[derive(Clone)]
pub(crate) struct Text(pub(crate) String);

impl Text {
    /// The object with `"bellhop":1` first: how the panel and the loader tell their messages
    /// from others on the page.
    pub(crate) fn with_mark(&self) -> String {
        let fields = self.0.strip_prefix('{').unwrap_or("}");
        let comma = if fields == "}" { "" } else { "," };
        String::from("{\"bellhop\":1") + comma + fields
    }
}

/// What [`json!`] takes as a field's value.
pub(crate) trait Field {
    fn write(&self, out: &mut String);
}

impl Field for str {
    fn write(&self, out: &mut String) {
        quote(out, self);
    }
}

impl Field for String {
    fn write(&self, out: &mut String) {
        quote(out, self);
    }
}

impl Field for bool {
    fn write(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl Field for u32 {
    fn write(&self, out: &mut String) {
        push_u64(out, u64::from(*self));
    }
}

impl Field for i32 {
    fn write(&self, out: &mut String) {
        push_i64(out, i64::from(*self));
    }
}

/// A nested object.
impl Field for Text {
    fn write(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// `None` is `null`.
impl<T: Field> Field for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(value) => value.write(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: Field + ?Sized> Field for &T {
    fn write(&self, out: &mut String) {
        (**self).write(out);
    }
}

impl Obj {
    pub(crate) fn field(mut self, key: &str, value: &(impl Field + ?Sized)) -> Self {
        value.write(self.key(key));
        self
    }
}

/// A flat JSON object, as serde_json's `json!` writes one: `json!({ "type": "close" })`.
/// Values are [`Field`]s: strings, booleans, numbers, options (`None` is `null`) and
/// nested [`Text`].
macro_rules! json {
    ({ $($key:literal : $value:expr),* $(,)? }) => {
        $crate::json::Text($crate::json::Obj::new()$(.field($key, &$value))*.done())
    };
}
pub(crate) use json;

/// A JSON array of `items`, each written by `each`.
pub(crate) fn array<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&each(item));
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_json_allows() {
        let value = parse(r#" {"a": [1, -2, 3.5e-1, true, false, null], "b": {"c": "d"}} "#);
        let value = value.unwrap_or(Value::Null);
        let a = value.get("a").and_then(Value::as_array).unwrap_or_default();
        assert_eq!(a.len(), 6);
        assert_eq!(a[0].as_u64(), Some(1));
        assert_eq!(a[1].as_i64(), Some(-2));
        assert_eq!(a[1].as_u64(), None);
        assert_eq!(a[2], Value::Num("3.5e-1".into()));
        assert_eq!(a[2].as_i64(), None);
        for (text, unsigned, signed) in [
            ("0", Some(0), Some(0)),
            ("18446744073709551615", Some(u64::MAX), None),
            ("18446744073709551616", None, None),
            ("9223372036854775807", Some(i64::MAX as u64), Some(i64::MAX)),
            ("-9223372036854775808", None, Some(i64::MIN)),
            ("-9223372036854775809", None, None),
            ("-7", None, Some(-7)),
            ("1.0", None, None),
            ("1e3", None, None),
        ] {
            let number = Value::Num(text.into());
            assert_eq!(number.as_u64(), unsigned, "{text}");
            assert_eq!(number.as_u64(), text.parse().ok(), "{text}");
            assert_eq!(number.as_i64(), signed, "{text}");
            assert_eq!(number.as_i64(), text.parse().ok(), "{text}");
        }
        assert_eq!(a[3].as_bool(), Some(true));
        assert_eq!(value.get("b").and_then(|b| b.get("c")?.as_str()), Some("d"));
        assert_eq!(value.opt("missing"), None);
        assert_eq!(parse("[]"), Some(Value::Arr(Vec::new())));
        assert_eq!(parse("{}"), Some(Value::Obj(Vec::new())));
    }

    #[test]
    fn refuses_what_json_does_not() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "\"a",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "{a:1}",
            "[1] 2",
            "'a'",
            "+1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(parse(&deep), None);
    }

    #[test]
    fn strings_read_and_write_as_serde_json_does() {
        for text in [
            "plain",
            "quote \" backslash \\ slash /",
            "lines\n\r\t\u{8}\u{c} and \u{1}\u{1f}",
            "unicode: é 中文 😀 \u{2028}",
            "",
        ] {
            let mut ours = String::new();
            quote(&mut ours, text);
            let theirs = serde_json::to_string(text).unwrap_or_default();
            assert_eq!(ours, theirs);
            assert_eq!(
                parse(&ours).and_then(|v| v.as_string()),
                Some(text.to_owned())
            );
        }
        let escaped = parse(r#""\u00e9\ud83d\ude00\/""#).and_then(|v| v.as_string());
        assert_eq!(escaped.as_deref(), Some("é😀/"));
    }

    #[test]
    fn numbers_write_as_serde_json_does() {
        for n in [0, 7, 10, 1_741_977_965_921, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for n in [0, -1, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn values_write_back_as_they_were_read() {
        let text = r#"{"a":[1,-2.50e+3,true,null,{}],"b":{"c":"d\n\u00e9"},"":[]}"#;
        let value = parse(text).unwrap_or(Value::Null);
        assert_eq!(
            value.to_json(),
            r#"{"a":[1,-2.50e+3,true,null,{}],"b":{"c":"d\né"},"":[]}"#
        );
    }

    #[test]
    fn the_json_macro_writes_flat_objects() {
        let none: Option<String> = None;
        let inner = json!({ "n": 7u32 });
        let text = json!({
            "type": "event", "name": String::from("x\"y"), "on": true, "none": none,
            "some": Some("s"), "data": inner,
        });
        assert_eq!(
            text.0,
            r#"{"type":"event","name":"x\"y","on":true,"none":null,"some":"s","data":{"n":7}}"#
        );
        assert_eq!(json!({}).0, "{}");
        assert_eq!(json!({}).with_mark(), r#"{"bellhop":1}"#);
        assert_eq!(
            json!({ "type": "close" }).with_mark(),
            r#"{"bellhop":1,"type":"close"}"#
        );
    }

    #[test]
    fn objects_and_arrays_write_in_order() {
        let json = Obj::new()
            .str("type", "x")
            .opt_str("none", None)
            .u64("n", 3)
            .bool("b", false)
            .raw("list", &array(&[1u64, 2], |n| n.to_string()))
            .done();
        assert_eq!(json, r#"{"type":"x","n":3,"b":false,"list":[1,2]}"#);
        assert_eq!(Obj::new().done(), "{}");
        assert_eq!(array::<u64>(&[], |n| n.to_string()), "[]");
    }
}
