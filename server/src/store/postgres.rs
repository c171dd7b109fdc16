//! The scale-out store: PostgreSQL with `synchronous_commit=on` (set on every connection, so a
//! server default of `off` cannot weaken durability).
//!
//! Several server processes may share one database: assignment locks the agent's row
//! (`SELECT ... FOR UPDATE`) in the assigning transaction, so caps hold across nodes. Row and
//! table locks held by others make a statement wait (PostgreSQL has no lock timeout by
//! default), so a plain `BEGIN` suffices for writes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::dialect::{Backend, Dialect};
use super::{SqlStore, StoreResult};

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const LOCK_AGENT: &'static str = "SELECT id FROM agents WHERE id = $1 FOR UPDATE";
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connects to a `postgres://` URL and migrates the database.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<SqlStore> {
    let options = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore {
        write: Backend::Postgres(pool.clone()),
        read: Backend::Postgres(pool),
    })
}
