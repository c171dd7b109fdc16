//! Ratings: a visitor's satisfaction score of a closed conversation, given once.

use async_trait::async_trait;
use bellhop_protocol::frames::{Conversation, ConversationStatus, Rating};
use bellhop_protocol::{ConversationId, VisitorId};

use super::conversations::load_conversation;
use super::{SqlStore, StoreResult, vanished};

/// What came of a rating.
#[derive(Clone, Debug)]
pub enum Rated {
    /// Stored: the conversation as it is now, carrying the rating.
    Stored(Box<Conversation>),
    /// No such conversation of this visitor.
    NotFound,
    /// The conversation is still open: it can be rated once it is closed.
    StillOpen,
    /// The conversation already carries a rating.
    AlreadyRated,
}

#[async_trait]
pub trait RatingStore: Send + Sync + 'static {
    /// Stores `rating` on the visitor's closed, unrated conversation.
    async fn rate_conversation(
        &self,
        id: ConversationId,
        visitor: VisitorId,
        rating: &Rating,
    ) -> StoreResult<Rated>;
}

#[async_trait]
impl RatingStore for SqlStore {
    async fn rate_conversation(
        &self,
        id: ConversationId,
        visitor: VisitorId,
        rating: &Rating,
    ) -> StoreResult<Rated> {
        let mut tx = self.write.begin_write().await?;
        // Conditional, so that two ratings racing cannot both be stored.
        let changed = tx
            .conn()
            .execute(
                "UPDATE conversations SET rating_score = $3, rating_comment = $4, rated_at = $5 \
                 WHERE id = $1 AND visitor_id = $2 AND status = 'closed' \
                 AND rating_score IS NULL",
                (
                    id,
                    visitor,
                    i64::from(rating.score),
                    &rating.comment,
                    rating.rated_at,
                ),
            )
            .await?;
        let current = load_conversation(&mut tx.conn(), id).await?;
        if changed == 0 {
            return Ok(match current {
                Some(c) if c.visitor_id == visitor => {
                    if c.status != ConversationStatus::Closed {
                        Rated::StillOpen
                    } else {
                        Rated::AlreadyRated
                    }
                }
                _ => Rated::NotFound,
            });
        }
        let conversation = current.ok_or_else(|| vanished("conversation"))?;
        tx.commit().await?;
        Ok(Rated::Stored(Box::new(conversation)))
    }
}
