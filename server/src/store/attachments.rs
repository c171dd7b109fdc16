//! Attachments: the record of a stored file (its bytes live in the blob store, see
//! [`crate::files`]). A file is recorded in the same transaction as the message that carries
//! it (`messages.rs`); here it is looked up for download.

use async_trait::async_trait;
use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::Attachment;
use bellhop_protocol::ids::AttachmentId;

use super::{SqlStore, StoreError, StoreResult};

/// A recorded file: what a message shows of it, where it belongs and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    pub attachment: Attachment,
    pub conversation_id: ConversationId,
    pub blob_key: String,
}

#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<StoredAttachment>>;
    /// The files of a conversation, in the order they were attached.
    async fn attachments_of(&self, conversation: ConversationId) -> StoreResult<Vec<Attachment>>;
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: AttachmentId,
    conversation_id: ConversationId,
    name: String,
    content_type: String,
    size: i64,
    blob_key: String,
}

#[async_trait]
impl AttachmentStore for SqlStore {
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<StoredAttachment>> {
        let row: Option<AttachmentRow> = self
            .read
            .get()
            .row_optional(
                "SELECT id, conversation_id, name, content_type, size, blob_key \
                 FROM attachments WHERE id = $1",
                (id,),
            )
            .await?;
        row.map(|row| {
            Ok(StoredAttachment {
                conversation_id: row.conversation_id,
                blob_key: row.blob_key.clone(),
                attachment: row.attachment()?,
            })
        })
        .transpose()
    }

    async fn attachments_of(&self, conversation: ConversationId) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<AttachmentRow> = self
            .read
            .get()
            .rows(
                "SELECT id, conversation_id, name, content_type, size, blob_key \
                 FROM attachments WHERE conversation_id = $1 ORDER BY created_at, id",
                (conversation,),
            )
            .await?;
        rows.into_iter().map(|row| row.attachment()).collect()
    }
}

impl AttachmentRow {
    fn attachment(self) -> StoreResult<Attachment> {
        Ok(Attachment {
            id: self.id,
            name: self.name,
            content_type: self.content_type,
            size: u64::try_from(self.size)
                .map_err(|_| StoreError::Corrupt("negative attachment size".into()))?,
        })
    }
}
