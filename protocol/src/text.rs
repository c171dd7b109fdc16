//! Validated user input. Fields are private and the only way in is `parse`, which serde uses
//! too (`try_from = "String"`): a frame or REST body that deserialises carries valid values.
//!
//! - [`MessageBody`], [`ClientMessageId`] — what a `send` frame carries.
//! - [`Email`], [`DisplayName`], [`ChatCap`] — an agent account's fields.
//! - [`TransferNote`] — the note a transfer hands to the colleague.
//! - [`Password`] — a password on its way in: never shown by `Debug`, wiped from memory on drop.
//!
//! The REST types' errors ([`FieldError`]) name the field, so a refused body says which part is
//! wrong.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest message body, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// The longest client message id, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// The longest email address, in bytes (RFC 5321's path limit less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// The highest chat cap an agent may have.
pub const MAX_CHAT_CAP: u32 = 100;
/// The longest transfer note, in characters.
pub const MAX_TRANSFER_NOTE_CHARS: usize = 2000;

/// Why a piece of user input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong { max: usize },
    BadCharacter,
    NotAnEmail,
    TooLarge { max: u32 },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty => f.write_str("must not be empty"),
            TextError::TooLong { max } => write!(f, "must be at most {max} characters"),
            TextError::BadCharacter => f.write_str("contains a character that is not allowed"),
            TextError::NotAnEmail => f.write_str("is not an email address"),
            TextError::TooLarge { max } => write!(f, "must be at most {max}"),
        }
    }
}

impl std::error::Error for TextError {}

/// A refused field of a REST body: which field, and why (`display_name must not be empty`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: TextError,
}

impl FieldError {
    fn new(field: &'static str, problem: TextError) -> Self {
        Self { field, problem }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

impl std::error::Error for FieldError {}

/// The text of a chat message: not blank, at most [`MAX_MESSAGE_CHARS`] characters, no NUL.
/// It is always shown as text, never interpreted as HTML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(text: String) -> Result<Self, TextError> {
        if text.trim().is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(TextError::TooLong {
                max: MAX_MESSAGE_CHARS,
            });
        }
        if text.contains('\0') {
            return Err(TextError::BadCharacter);
        }
        Ok(Self(text))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A client-generated message id (a UUID is typical): 1 to [`MAX_CLIENT_ID_LEN`] bytes of
/// ASCII letters, digits, `-` and `_`. Resending a message with the same id is idempotent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub fn parse(id: String) -> Result<Self, TextError> {
        if id.is_empty() {
            return Err(TextError::Empty);
        }
        if id.len() > MAX_CLIENT_ID_LEN {
            return Err(TextError::TooLong {
                max: MAX_CLIENT_ID_LEN,
            });
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TextError::BadCharacter);
        }
        Ok(Self(id))
    }
}

/// An agent's email address, trimmed and in lower case: one `@` with text on both sides, at
/// most [`MAX_EMAIL_LEN`] bytes, no whitespace or control characters, not beginning with `=`,
/// `+`, `-` or `@` (what a spreadsheet would run as a formula). It names one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: String) -> Result<Self, FieldError> {
        let refused = |problem| FieldError::new("email", problem);
        let email = text.trim().to_lowercase();
        if email.is_empty() {
            return Err(refused(TextError::Empty));
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(refused(TextError::TooLong { max: MAX_EMAIL_LEN }));
        }
        let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
        // A leading `=`, `+`, `-` or `@` would make a spreadsheet run the address as a formula.
        let formula = email.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if !well_formed || formula || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused(TextError::NotAnEmail));
        }
        Ok(Self(email))
    }
}

/// The name visitors and colleagues see for an agent: trimmed, 1 to
/// [`MAX_DISPLAY_NAME_CHARS`] characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(text: String) -> Result<Self, FieldError> {
        let refused = |problem| FieldError::new("display_name", problem);
        let name = text.trim();
        if name.is_empty() {
            return Err(refused(TextError::Empty));
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(refused(TextError::TooLong {
                max: MAX_DISPLAY_NAME_CHARS,
            }));
        }
        if name.chars().any(char::is_control) {
            return Err(refused(TextError::BadCharacter));
        }
        Ok(Self(name.to_owned()))
    }
}

/// How many open chats the router gives an agent at most: 0 to [`MAX_CHAT_CAP`]. A cap of 0
/// keeps an agent (say, a supervisor who only oversees) out of assignment altogether.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ChatCap(u32);

impl ChatCap {
    pub fn new(cap: u32) -> Result<Self, FieldError> {
        if cap > MAX_CHAT_CAP {
            return Err(FieldError::new(
                "max_chats",
                TextError::TooLarge { max: MAX_CHAT_CAP },
            ));
        }
        Ok(Self(cap))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A transfer's note to the colleague: trimmed, at most [`MAX_TRANSFER_NOTE_CHARS`]
/// characters, never blank — a blank note is no note ([`TransferNote::parse_optional`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransferNote(String);

impl TransferNote {
    /// Refuses a blank note; use [`TransferNote::parse_optional`] where blank means none.
    pub fn parse(text: String) -> Result<Self, FieldError> {
        match Self::parse_optional(text)? {
            Some(note) => Ok(note),
            None => Err(FieldError::new("note", TextError::Empty)),
        }
    }

    /// `None` for a blank note, else the trimmed note if it is not too long.
    pub fn parse_optional(text: String) -> Result<Option<Self>, FieldError> {
        let note = text.trim();
        if note.is_empty() {
            return Ok(None);
        }
        if note.chars().count() > MAX_TRANSFER_NOTE_CHARS {
            return Err(FieldError::new(
                "note",
                TextError::TooLong {
                    max: MAX_TRANSFER_NOTE_CHARS,
                },
            ));
        }
        if note.contains('\0') {
            return Err(FieldError::new("note", TextError::BadCharacter));
        }
        Ok(Some(Self(note.to_owned())))
    }

    /// For `#[serde(default, deserialize_with = "TransferNote::deserialize_optional")]` on an
    /// `Option<TransferNote>` field: absent, `null` and blank all mean no note.
    pub fn deserialize_optional<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Self>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => Self::parse_optional(text).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// A password as it arrives in a login or account body. `Debug` prints `[REDACTED]` and the
/// text is wiped from memory when dropped; read it with [`Password::expose`] only where it is
/// hashed or checked. Rules for new passwords (a minimum length) are the server's.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    pub fn new(text: String) -> Self {
        Self(SecretString::from(text))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self::new(text.to_owned())
    }
}

impl Serialize for Password {
    /// A client sends its password; serialising is how it gets onto the wire.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// What every validated string type shares: `as_str`, `into_inner`, `FromStr` and
/// `TryFrom<String>` through its `parse` (refusing with `$error`), `From<_> for String`
/// (serde's `into`) and `Display`.
macro_rules! validated_strings {
    ($($ty:ident: $error:ty),+ $(,)?) => {$(
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s.to_owned())
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $error;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

validated_strings!(
    MessageBody: TextError,
    ClientMessageId: TextError,
    Email: FieldError,
    DisplayName: FieldError,
    TransferNote: FieldError,
);

impl TryFrom<u32> for ChatCap {
    type Error = FieldError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ChatCap> for u32 {
    fn from(value: ChatCap) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_rejects_blank_and_overlong_text() {
        assert_eq!(MessageBody::parse("  \n".into()), Err(TextError::Empty));
        assert!(MessageBody::parse("x".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert_eq!(
            MessageBody::parse("я".repeat(MAX_MESSAGE_CHARS + 1)),
            Err(TextError::TooLong {
                max: MAX_MESSAGE_CHARS
            })
        );
        assert_eq!(
            MessageBody::parse("a\0b".into()),
            Err(TextError::BadCharacter)
        );
    }

    #[test]
    fn body_keeps_markup_as_plain_text() {
        let body = MessageBody::parse("<b>hi</b>".into()).ok();
        assert_eq!(body.as_ref().map(MessageBody::as_str), Some("<b>hi</b>"));
    }

    #[test]
    fn client_id_allows_uuid_like_ids_only() {
        assert!(ClientMessageId::parse("0f8c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6".into()).is_ok());
        assert!(ClientMessageId::parse("msg_1".into()).is_ok());
        assert_eq!(ClientMessageId::parse(String::new()), Err(TextError::Empty));
        assert_eq!(
            ClientMessageId::parse("a b".into()),
            Err(TextError::BadCharacter)
        );
        assert!(ClientMessageId::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn deserialising_validates() {
        let bad: Result<MessageBody, _> = serde_json::from_str("\"   \"");
        assert!(bad.is_err());
        let good: Result<MessageBody, _> = serde_json::from_str("\"hello\"");
        assert!(good.is_ok());
    }

    #[test]
    fn emails_are_trimmed_lower_case_and_shaped_like_addresses() {
        let email = Email::parse("  Nina@Example.TEST ".into());
        assert_eq!(email.as_ref().map(Email::as_str), Ok("nina@example.test"));
        assert!(Email::parse("admin@localhost".into()).is_ok());
        for bad in [
            "not-an-email",
            "@example.test",
            "nina@",
            "a b@example.test",
            "a@b@c",
            "=1+1@evil.example",
            "+x@example.test",
            "-x@example.test",
        ] {
            let refused = Email::parse(bad.into());
            assert_eq!(
                refused.map_err(|e| e.problem),
                Err(TextError::NotAnEmail),
                "{bad}"
            );
        }
        assert_eq!(
            Email::parse("   ".into()).map_err(|e| e.to_string()),
            Err("email must not be empty".into())
        );
        let long = format!("{}@example.test", "x".repeat(250));
        assert!(Email::parse(long).is_err());
        let from_json: Result<Email, _> = serde_json::from_str("\"x\"");
        let message = from_json.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("email is not an email address"),
            "{message}"
        );
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        let name = DisplayName::parse("  Ann Lee ".into());
        assert_eq!(name.as_ref().map(DisplayName::as_str), Ok("Ann Lee"));
        assert_eq!(
            DisplayName::parse(" \t ".into()).map_err(|e| e.to_string()),
            Err("display_name must not be empty".into())
        );
        assert!(DisplayName::parse("я".repeat(MAX_DISPLAY_NAME_CHARS)).is_ok());
        assert!(DisplayName::parse("я".repeat(MAX_DISPLAY_NAME_CHARS + 1)).is_err());
        assert!(DisplayName::parse("Ann\u{7}".into()).is_err());
        let from_json: Result<DisplayName, _> = serde_json::from_str("\"\"");
        assert!(from_json.is_err());
    }

    #[test]
    fn chat_caps_run_from_zero_to_the_maximum() {
        assert_eq!(ChatCap::new(0).map(ChatCap::get), Ok(0));
        assert_eq!(
            ChatCap::new(MAX_CHAT_CAP).map(ChatCap::get),
            Ok(MAX_CHAT_CAP)
        );
        assert_eq!(
            ChatCap::new(MAX_CHAT_CAP + 1).map_err(|e| e.to_string()),
            Err("max_chats must be at most 100".into())
        );
        let from_json: Result<ChatCap, _> = serde_json::from_str("101");
        assert!(from_json.is_err());
        let from_json: Result<ChatCap, _> = serde_json::from_str("4");
        assert_eq!(from_json.ok(), ChatCap::new(4).ok());
    }

    #[test]
    fn transfer_notes_are_trimmed_bounded_and_blank_means_none() {
        assert_eq!(TransferNote::parse_optional("  \n ".into()), Ok(None));
        let note = TransferNote::parse_optional(" VIP, be nice ".into());
        assert_eq!(
            note.ok().flatten().as_ref().map(TransferNote::as_str),
            Some("VIP, be nice")
        );
        assert!(TransferNote::parse_optional("я".repeat(MAX_TRANSFER_NOTE_CHARS)).is_ok());
        assert_eq!(
            TransferNote::parse_optional("я".repeat(MAX_TRANSFER_NOTE_CHARS + 1))
                .map_err(|e| e.to_string()),
            Err("note must be at most 2000 characters".into())
        );
        assert!(TransferNote::parse("  ".into()).is_err());

        #[derive(Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "TransferNote::deserialize_optional")]
            note: Option<TransferNote>,
        }
        let parse = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.note);
        assert_eq!(parse("{}").ok(), Some(None));
        assert_eq!(parse(r#"{"note":null}"#).ok(), Some(None));
        assert_eq!(parse(r#"{"note":"   "}"#).ok(), Some(None));
        assert!(parse(&format!(r#"{{"note":"{}"}}"#, "x".repeat(2001))).is_err());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let password = Password::from("hunter2-hunter2");
        assert_eq!(password.expose(), "hunter2-hunter2");
        assert!(!format!("{password:?}").contains("hunter2"));
        let json = serde_json::to_string(&password).unwrap_or_default();
        assert_eq!(json, "\"hunter2-hunter2\"");
        let back: Result<Password, _> = serde_json::from_str(&json);
        assert_eq!(
            back.map(|p| p.expose().to_owned()).ok().as_deref(),
            Some("hunter2-hunter2")
        );
    }
}

/// The longest sneak peek, in characters; a longer draft is cut (from the start: the end is
/// what the visitor is typing now).
pub const MAX_PEEK_CHARS: usize = 1000;

/// The mask character for hidden parts of a sneak peek.
pub const MASK: char = '•';

/// Masks what a draft must not reveal before it is sent: card-like numbers (13 to 19 digits,
/// spaces or dashes between them allowed, Luhn-valid), other runs of 9 or more digits, and
/// e-mail addresses. Masked characters become [`MASK`]; separators inside a number stay, so
/// the agent sees the shape (`•••• •••• •••• ••••`). The widget applies it before a peek
/// leaves the browser, and the server again before relaying it.
pub fn mask_sensitive(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut hide = vec![false; chars.len()];
    let sep = |c: char| c == ' ' || c == '-';
    // Digit runs: digits with single separators between them.
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let (mut end, mut digits, mut plain) = (i, Vec::new(), true);
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits.push(chars[end] as u8 - b'0');
                end += 1;
            } else if sep(chars[end]) && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
                plain = false;
                end += 1;
            } else {
                break;
            }
        }
        let card = (13..=19).contains(&digits.len()) && luhn(&digits);
        if card || (plain && digits.len() >= 9) {
            for (at, flag) in hide.iter_mut().enumerate().take(end).skip(start) {
                *flag = chars[at].is_ascii_digit();
            }
        } else if digits.len() >= 9 {
            // Separated groups that are not a card: hide each group of 9 or more digits only.
            let mut at = start;
            while at < end {
                let group = (at..end).take_while(|&k| chars[k].is_ascii_digit()).count();
                if group >= 9 {
                    hide[at..at + group].iter_mut().for_each(|f| *f = true);
                }
                at += group.max(1);
            }
        }
        i = end;
    }
    // E-mail addresses: a word holding an `@` with something on both sides.
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word = &chars[start..i];
        if let Some(at) = word.iter().position(|&c| c == '@')
            && at > 0
            && at + 1 < word.len()
        {
            hide[start..i].iter_mut().for_each(|f| *f = true);
        }
        i += 1;
    }
    chars
        .iter()
        .zip(hide)
        .map(|(&c, hidden)| if hidden { MASK } else { c })
        .collect()
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod mask_tests {
    use super::mask_sensitive;

    #[test]
    fn cards_are_masked_with_their_separators_kept() {
        assert_eq!(
            mask_sensitive("my card 4111 1111 1111 1111 ok"),
            "my card •••• •••• •••• •••• ok"
        );
        assert_eq!(mask_sensitive("4111-1111-1111-1111"), "••••-••••-••••-••••");
        assert_eq!(mask_sensitive("4111111111111111"), "••••••••••••••••");
    }

    #[test]
    fn long_digit_runs_and_emails_are_masked() {
        assert_eq!(mask_sensitive("order 123456789"), "order •••••••••");
        assert_eq!(
            mask_sensitive("mail me: ann@example.com."),
            "mail me: ••••••••••••••••"
        );
        // A separated number that is not Luhn-valid keeps its short groups.
        assert_eq!(mask_sensitive("1234 5678 9012 3456"), "1234 5678 9012 3456");
        assert_eq!(
            mask_sensitive("call 8 800 555-35-35"),
            "call 8 800 555-35-35"
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "",
            "size 42, 2 pairs",
            "@ home",
            "a@",
            "Привет, 2026 год",
            "3-4 days",
        ] {
            assert_eq!(mask_sensitive(text), text);
        }
    }
}
