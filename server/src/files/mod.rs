//! Files people attach to a conversation: where their bytes live and what they are.
//!
//! - [`BlobStore`] is the seam for the bytes: put, get and delete by key. [`folder::FolderBlobs`]
//!   keeps them in a folder beside the database (the default); an S3-compatible store can sit
//!   behind the same trait. The database keeps only the record ([`crate::store::AttachmentStore`])
//!   and the key.
//! - [`sniff`] decides a file's type from its first bytes, never from its name or declared type.
//! - [`names`] cleans an uploader's file name and writes the `Content-Disposition` of a download.
//!
//! An upload stores the bytes durably first, then commits the message that carries them; a
//! refused or duplicate message deletes the bytes again. A crash between the two leaves at
//! worst an orphan blob, never a message without its file.

pub mod folder;
pub mod names;
pub mod sniff;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Where attachments' bytes live. Keys are the server's own (an attachment's id), never a
/// name from a client.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, durably, before returning: a message may then point at it.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()>;
    /// The bytes under `key`, if any.
    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Removes `key`; removing a key that is not there is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Checks a site's attachment policy: known types, each once, and a limit above zero.
pub fn validate_policy(policy: &bellhop_protocol::api::AttachmentPolicy) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for kind in &policy.allowed_types {
        if !sniff::KNOWN_TYPES.contains(&kind.as_str()) {
            return Err(format!(
                "{kind:?} is not a type the server recognises ({})",
                sniff::KNOWN_TYPES.join(", ")
            ));
        }
        if !seen.insert(kind) {
            return Err(format!("{kind:?} is listed twice"));
        }
    }
    if policy.max_bytes == 0 {
        return Err(
            "max_bytes must be at least 1 (an empty type list turns attachments off)".into(),
        );
    }
    Ok(())
}

/// How many bytes of uploads the server holds in memory at once, over all uploads: each
/// upload reserves its limit before it reads a byte, and one that finds no room is refused at
/// once (`429`), so many slow uploads cannot exhaust memory.
#[derive(Clone)]
pub struct UploadBudget {
    kib: Arc<Semaphore>,
}

impl UploadBudget {
    pub fn new(bytes: u64) -> Self {
        let kib = usize::try_from(bytes.div_ceil(1024))
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            kib: Arc::new(Semaphore::new(kib)),
        }
    }

    /// Room for an upload of up to `bytes`, held until the permit is dropped; `None` when
    /// the budget is spent for now.
    pub fn try_reserve(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        self.kib.clone().try_acquire_many_owned(kib).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_room_until_the_upload_ends() {
        let budget = UploadBudget::new(3 * 1024);
        let first = budget.try_reserve(2 * 1024);
        assert!(first.is_some());
        assert!(budget.try_reserve(2 * 1024).is_none());
        drop(first);
        assert!(budget.try_reserve(3 * 1024).is_some());
    }

    #[test]
    fn policies_name_known_types_once() {
        let mut policy = bellhop_protocol::api::AttachmentPolicy::default();
        assert!(validate_policy(&policy).is_ok());
        policy.allowed_types.push("text/html".into());
        assert!(validate_policy(&policy).is_err());
        policy.allowed_types = vec!["image/png".into(), "image/png".into()];
        assert!(validate_policy(&policy).is_err());
        policy.allowed_types = Vec::new();
        assert!(validate_policy(&policy).is_ok());
        policy.max_bytes = 0;
        assert!(validate_policy(&policy).is_err());
    }
}
