//! The default blob store: one file per blob in a folder on the local disk (beside the SQLite
//! database unless configured otherwise).
//!
//! A put writes a temporary file in the same folder, flushes it to disk, renames it into
//! place and flushes the folder, so a blob is either absent or whole, also after a crash.
//! Blobs are spread over 256 subfolders by the last two characters of their key.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::BlobStore;

pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    /// A store in `root`. The folder (with its parents) is made by the first put, so a
    /// server that never receives a file leaves none behind.
    pub fn open(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key. Keys are the server's own, but one that could leave the folder is
    /// refused all the same.
    fn path_of(&self, key: &str) -> std::io::Result<PathBuf> {
        let safe = key.len() >= 2
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !safe {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a blob key: {key:?}"),
            ));
        }
        let shard = &key[key.len() - 2..];
        Ok(self.root.join(shard).join(key))
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a blob path has a folder"))?;
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        // A new shard folder must itself survive a crash for the blob in it to.
        if let Some(root) = dir.parent() {
            std::fs::File::open(root)?.sync_all()?;
        }
    }
    let temp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = std::fs::File::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename is durable once the folder's entry is.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.path_of(key)?;
        blocking(move || write_atomically(&path, &bytes)).await
    }

    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        let path = self.path_of(key)?;
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FolderBlobs::open(dir.path().join("files"));
        blobs.put("abc-123", b"hello".to_vec()).await.unwrap();
        assert_eq!(blobs.get("abc-123").await.unwrap(), Some(b"hello".to_vec()));
        assert!(dir.path().join("files/23/abc-123").exists());
        blobs.delete("abc-123").await.unwrap();
        blobs.delete("abc-123").await.unwrap();
        assert_eq!(blobs.get("abc-123").await.unwrap(), None);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("files/23"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
    }

    #[tokio::test]
    async fn keys_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FolderBlobs::open(dir.path());
        for key in ["../x", "a/b", "", "x", "..", "a\\b"] {
            assert!(blobs.put(key, b"x".to_vec()).await.is_err(), "{key}");
        }
    }
}
