//! Typed identifiers. Each wraps a UUID and serialises as its hyphenated string, so a
//! `ConversationId` can never be passed where an `AgentId` is expected.
//!
//! With the `sqlx` feature (enabled by the server only, so the Wasm build stays lean) each id
//! is also an SQL value of its own: it binds and decodes as the UUID it wraps, so queries and
//! row types use the id types directly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A website that embeds the widget.
    SiteId
);
id_type!(
    /// A support agent (or supervisor, or admin).
    AgentId
);
id_type!(
    /// One visitor of one site, as named by their visitor token.
    VisitorId
);
id_type!(
    /// One conversation between a visitor and the site's agents.
    ConversationId
);
id_type!(
    /// A department (topic) of a site, with its own queue and agents.
    DepartmentId
);
id_type!(
    /// A lead captured by a pre-chat or offline form.
    LeadId
);
id_type!(
    /// A file a visitor or agent attached to a conversation.
    AttachmentId
);
id_type!(
    /// A private note (or whisper) in a conversation, seen by agents only.
    NoteId
);
id_type!(
    /// A canned reply of a site.
    CannedReplyId
);
