//! The scale-out store: PostgreSQL with `synchronous_commit=on` (set on every connection, so a
//! server default of `off` cannot weaken durability).
//!
//! Several server processes may share one database: assignment locks the agent's row
//! (`SELECT ... FOR UPDATE`) in the assigning transaction, so caps hold across nodes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

type Conn = PgConnection;
type ThisStore = PostgresStore;
const BACKEND: &str = "postgres";
const LOCK_AGENT: &str = "SELECT id FROM agents WHERE id = $1 FOR UPDATE";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

pub struct PostgresStore {
    write: PgPool,
    read: PgPool,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn connect(url: &str, max_connections: u32) -> super::StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            write: pool.clone(),
            read: pool,
        })
    }
}

include!("queries.rs");
