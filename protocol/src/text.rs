//! Validated user input. Fields are private and the only way in is `parse`, which serde uses
//! too (`try_from = "String"`): a frame that deserialises carries valid values.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest message body, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// The longest client message id, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// Why a piece of user input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong { max: usize },
    BadCharacter,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty => f.write_str("must not be empty"),
            TextError::TooLong { max } => write!(f, "must be at most {max} characters"),
            TextError::BadCharacter => f.write_str("contains a character that is not allowed"),
        }
    }
}

impl std::error::Error for TextError {}

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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for MessageBody {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<MessageBody> for String {
    fn from(value: MessageBody) -> Self {
        value.0
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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientMessageId {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ClientMessageId> for String {
    fn from(value: ClientMessageId) -> Self {
        value.0
    }
}

impl fmt::Display for ClientMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
}
