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
                attachment: Attachment {
                    id: row.id,
                    name: row.name,
                    content_type: row.content_type,
                    size: u64::try_from(row.size)
                        .map_err(|_| StoreError::Corrupt("negative attachment size".into()))?,
                },
                conversation_id: row.conversation_id,
                blob_key: row.blob_key,
            })
        })
        .transpose()
    }
}
