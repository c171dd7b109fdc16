//! The default store: embedded SQLite in WAL mode with `synchronous=FULL`, so a committed
//! message survives a power cut, not only a crash.
//!
//! SQLite has one writer at a time, so writes go through a single-connection pool (no
//! `SQLITE_BUSY` between our own writers) and reads through a separate pool that WAL lets run
//! beside the writer. Group commit (`commit.rs`) makes the single writer fast.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

type Conn = SqliteConnection;
type ThisStore = SqliteStore;
const BACKEND: &str = "sqlite";
/// Writes are already serialised by the single writer connection.
const LOCK_AGENT: &str = "SELECT id FROM agents WHERE id = $1";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file named by a `sqlite://FILE` URL and
    /// migrates it.
    pub async fn connect(url: &str, max_connections: u32) -> super::StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { write, read })
    }
}

include!("queries.rs");
