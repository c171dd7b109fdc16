//! The two SQL dialects behind one store, and how a query reaches either of them.
//!
//! Both databases accept the same SQL here (`$N` placeholders, `RETURNING`, partial-index
//! upserts), so every query is written once, in the aggregate's file (`sites.rs`,
//! `agents.rs`, …). What differs is the [`Dialect`] contract, implemented by `sqlite.rs` and
//! `postgres.rs` for their sqlx database: the backend's name, how a write transaction begins
//! and the statement that serialises assignments to one agent.
//!
//! Why enum dispatch and not generics: code generic over `sqlx::Database` needs a dozen trait
//! bounds per function (executor, arguments and encode/decode bounds for every bound type), and
//! higher-ranked executor bounds do not mix well with `Send` futures. Instead a connection is a
//! [`Backend`] value, one variant per database, and [`sql!`] runs a query expression against
//! whichever variant it holds: the expression is written once and type-checked for both
//! connection types, as the compiler sees and lints it in place. The typed query methods in
//! `query.rs` (`execute`, `scalars`, `row_optional`, …) are built on the same match, so a call
//! site is only SQL and a tuple of binds.

use std::ops::DerefMut;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// What one SQL database does its own way. The rest of the store is shared.
pub(crate) trait Dialect: sqlx::Database {
    /// `sqlite` or `postgres`, for logs.
    const BACKEND: &'static str;
    /// Begins a transaction that will write. It must take the write lock up front, so that
    /// waiting for another writer (another process on the same database) goes through the
    /// database's lock wait or busy timeout instead of failing when a read upgrades to a write.
    const BEGIN_WRITE: &'static str;
    /// Serialises assignments to one agent (`$1`) within the assigning transaction, so two of
    /// them cannot both see a free slot.
    const LOCK_AGENT: &'static str;
}

/// One value per database: a pool, a connection, a transaction.
pub(crate) enum Backend<S, P> {
    Sqlite(S),
    Postgres(P),
}

pub(crate) type Pool = Backend<SqlitePool, PgPool>;
/// A borrowed connection of either database; every query helper takes one.
pub(crate) type Conn<'c> = Backend<&'c mut SqliteConnection, &'c mut PgConnection>;
pub(crate) type Tx = Backend<Transaction<'static, Sqlite>, Transaction<'static, Postgres>>;
pub(crate) type PooledConn = Backend<PoolConnection<Sqlite>, PoolConnection<Postgres>>;

/// Runs `$body` with `$c` bound to the concrete connection (or pool) that `$on` holds, so the
/// body is compiled once per database: `sql!(tx.conn(), |c| query(...).fetch_one(c).await)`.
/// Both arms must produce the same type. Most queries use the typed methods of `query.rs`
/// instead; this is for the few whose binds are not a fixed list.
macro_rules! sql {
    ($on:expr, |$c:ident| $body:expr) => {
        match $on {
            $crate::store::dialect::Backend::Sqlite($c) => $body,
            $crate::store::dialect::Backend::Postgres($c) => $body,
        }
    };
}
pub(crate) use sql;

impl Pool {
    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => Sqlite::BACKEND,
            Backend::Postgres(_) => Postgres::BACKEND,
        }
    }

    pub(crate) fn lock_agent(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => Sqlite::LOCK_AGENT,
            Backend::Postgres(_) => Postgres::LOCK_AGENT,
        }
    }

    /// The pool itself as an executor, for single statements.
    pub(crate) fn get(&self) -> Backend<&SqlitePool, &PgPool> {
        match self {
            Backend::Sqlite(pool) => Backend::Sqlite(pool),
            Backend::Postgres(pool) => Backend::Postgres(pool),
        }
    }

    /// One connection, for several statements outside a transaction.
    pub(crate) async fn acquire(&self) -> Result<PooledConn, sqlx::Error> {
        Ok(match self {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.acquire().await?),
            Backend::Postgres(pool) => Backend::Postgres(pool.acquire().await?),
        })
    }

    /// A write transaction, begun with the dialect's [`Dialect::BEGIN_WRITE`].
    pub(crate) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Backend::Sqlite(pool) => Backend::Sqlite(pool.begin_with(Sqlite::BEGIN_WRITE).await?),
            Backend::Postgres(pool) => {
                Backend::Postgres(pool.begin_with(Postgres::BEGIN_WRITE).await?)
            }
        })
    }
}

impl<S, P> Backend<S, P>
where
    S: DerefMut<Target = SqliteConnection>,
    P: DerefMut<Target = PgConnection>,
{
    /// The connection inside (a transaction's, a pooled one, or a reborrowed one).
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
        }
    }
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Backend::Sqlite(tx) => tx.commit().await,
            Backend::Postgres(tx) => tx.commit().await,
        }
    }
}
