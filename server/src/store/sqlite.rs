//! The default store: embedded SQLite in WAL mode with `synchronous=FULL`, so a committed
//! message survives a power cut, not only a crash.
//!
//! SQLite has one writer at a time, so writes go through a single-connection pool (no
//! `SQLITE_BUSY` between our own writers) and reads through a separate pool that WAL lets run
//! beside the writer. Group commit (`commit.rs`) makes the single writer fast.
//!
//! Another process may write the same file (`bellhop agent add` against the live database).
//! A deferred `BEGIN` would take the write lock only at its first write, and SQLite fails such
//! an upgrade at once with `SQLITE_BUSY`, busy timeout or not; write transactions therefore
//! begin `IMMEDIATE`, which waits for the lock up to the busy timeout.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::dialect::{Backend, Dialect};
use super::{SqlStore, StoreResult};

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    /// Writes are already serialised by the single writer connection and the write lock.
    const LOCK_AGENT: &'static str = "SELECT id FROM agents WHERE id = $1";
}

/// How long a write waits for another process's write lock before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Opens (creating if missing) the database file named by a `sqlite://FILE` URL and migrates
/// it.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<SqlStore> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(options.read_only(true))
        .await?;
    Ok(SqlStore {
        write: Backend::Sqlite(write),
        read: Backend::Sqlite(read),
    })
}
