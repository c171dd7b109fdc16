//! A fresh database per test: a temporary SQLite file, or a PostgreSQL database with a unique
//! name that is dropped (with its connections) when the test ends.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, with a database to connect to for creating others.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(
        #[expect(
            dead_code,
            reason = "held only so the directory lives as long as the test"
        )]
        tempfile::TempDir,
    ),
    Postgres {
        name: String,
        admin_url: String,
    },
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("bellhop.db").display());
                Self {
                    url,
                    kind: Kind::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {admin_url} ({e}). Start it (e.g. \
                         `pg_ctlcluster 15 main start`) or point TEST_DATABASE_URL at a server \
                         where this user may create databases."
                    )
                });
                let name = format!("bellhop_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE");
                let _ = conn.close().await;
                let url = with_database(&admin_url, &name);
                Self {
                    url,
                    kind: Kind::Postgres { name, admin_url },
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The one number `sql` (a `SELECT COUNT(*) …`) answers, read from outside the server.
    pub async fn count(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                let _ = conn.close().await;
                n
            }
            Kind::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                let _ = conn.close().await;
                n
            }
        }
    }
}

impl TestDb {
    /// Runs `sql` from outside the server (to age rows a test cannot wait for); answers how
    /// many rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        match self.kind {
            Kind::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                let done = sqlx::query(sql).execute(&mut conn).await.unwrap();
                let _ = conn.close().await;
                done.rows_affected()
            }
            Kind::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                let done = sqlx::query(sql).execute(&mut conn).await.unwrap();
                let _ = conn.close().await;
                done.rows_affected()
            }
        }
    }
}

/// The same server URL naming another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { name, admin_url } = &self.kind {
            let name = name.clone();
            let admin_url = admin_url.clone();
            // Drop runs outside async; a short-lived runtime on its own thread does the work.
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
