//! Read marks: how far each side of a conversation has read it (`visitor_read_seq`,
//! `agent_read_seq`). A mark only moves forward and never past the last message, in one
//! conditional `UPDATE`, so marks racing from several sockets or nodes cannot move it back.

use async_trait::async_trait;
use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::AuthorKind;

use super::{SqlStore, StoreResult};

#[async_trait]
pub trait ReadMarkStore: Send + Sync + 'static {
    /// Moves `reader`'s read position in the conversation to `min(seq, last_seq)` if that is
    /// further than it was; returns the new position, or `None` when it did not move (or the
    /// conversation does not exist, or `reader` is not a party).
    async fn mark_read(
        &self,
        conversation: ConversationId,
        reader: AuthorKind,
        seq: u64,
    ) -> StoreResult<Option<u64>>;
}

/// `$2` clamped to the last message; the column moves only when that is beyond it. (`CASE`
/// rather than `MIN`/`LEAST`, which the two databases spell differently.)
const MARK_VISITOR: &str = "UPDATE conversations \
     SET visitor_read_seq = CASE WHEN $2 < last_seq THEN $2 ELSE last_seq END \
     WHERE id = $1 AND visitor_read_seq < CASE WHEN $2 < last_seq THEN $2 ELSE last_seq END \
     RETURNING visitor_read_seq";
const MARK_AGENT: &str = "UPDATE conversations \
     SET agent_read_seq = CASE WHEN $2 < last_seq THEN $2 ELSE last_seq END \
     WHERE id = $1 AND agent_read_seq < CASE WHEN $2 < last_seq THEN $2 ELSE last_seq END \
     RETURNING agent_read_seq";

#[async_trait]
impl ReadMarkStore for SqlStore {
    async fn mark_read(
        &self,
        conversation: ConversationId,
        reader: AuthorKind,
        seq: u64,
    ) -> StoreResult<Option<u64>> {
        let sql = match reader {
            AuthorKind::Visitor => MARK_VISITOR,
            AuthorKind::Agent => MARK_AGENT,
            AuthorKind::System => return Ok(None),
        };
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let moved: Option<i64> = self
            .write
            .get()
            .scalar_optional(sql, (conversation, seq))
            .await?;
        Ok(moved.and_then(|n| u64::try_from(n).ok()))
    }
}
