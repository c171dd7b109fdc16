//! Typed queries over either database: one call runs a statement with its binds and reads the
//! result the way the caller asks for it.
//!
//! Every query in the store is a SQL string, a tuple of binds and one of seven ways to run it,
//! written as a method on whatever the query runs against (a pool from `Pool::get`, or a
//! connection or transaction through `conn()`):
//!
//! | method            | returns                          |
//! | ----------------- | -------------------------------- |
//! | `execute`         | rows changed (`u64`)             |
//! | `scalar`          | the one row's first column       |
//! | `scalar_optional` | the same, `None` without a row   |
//! | `scalars`         | the first column of every row    |
//! | `row`             | the one row as a [`Row`] type    |
//! | `row_optional`    | the same, `None` without a row   |
//! | `rows`            | every row                        |
//!
//! For example `conn.conn().scalars::<SiteId>("SELECT ... WHERE agent_id = $1", (agent,))`.
//!
//! The bounds a value needs to be bound, decoded or read as a row on both databases are bundled
//! as the supertraits of [`Bind`], [`Scalar`] and [`Row`], with blanket impls, so a call site
//! names none of them. [`Binds`] turns a tuple of up to twenty [`Bind`] values into the
//! arguments of whichever database runs the query. Queries whose binds are not a fixed tuple
//! use the [`sql!`](super::dialect::sql) macro directly.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Decode, Encode, Executor, FromRow, Postgres, Sqlite, Type};

use super::dialect::Backend;

/// A value that can be bound as a parameter on both databases.
pub(crate) trait Bind<'q>:
    Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> + Send + 'q
{
}

impl<'q, T> Bind<'q> for T where
    T: Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> + Send + 'q
{
}

/// A single column's value that decodes the same on both databases.
pub(crate) trait Scalar:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}

impl<T> Scalar for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

/// A whole row (a `FromRow` struct or a tuple) read the same on both databases.
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A query's parameters, `$1` first: a tuple of [`Bind`] values (`()` for none).
pub(crate) trait Binds<'q>: Send {
    fn sqlite(self) -> Result<SqliteArguments<'q>, sqlx::Error>;
    fn postgres(self) -> Result<PgArguments, sqlx::Error>;
}

macro_rules! binds_for_tuples {
    () => {
        impl<'q> Binds<'q> for () {
            fn sqlite(self) -> Result<SqliteArguments<'q>, sqlx::Error> {
                Ok(SqliteArguments::default())
            }
            fn postgres(self) -> Result<PgArguments, sqlx::Error> {
                Ok(PgArguments::default())
            }
        }
    };
    ($first:ident $first_value:ident $(, $rest:ident $rest_value:ident)*) => {
        impl<'q, $first: Bind<'q>, $($rest: Bind<'q>),*> Binds<'q> for ($first, $($rest,)*) {
            fn sqlite(self) -> Result<SqliteArguments<'q>, sqlx::Error> {
                let ($first_value, $($rest_value,)*) = self;
                let mut args = SqliteArguments::default();
                args.add($first_value).map_err(sqlx::Error::Encode)?;
                $(args.add($rest_value).map_err(sqlx::Error::Encode)?;)*
                Ok(args)
            }
            fn postgres(self) -> Result<PgArguments, sqlx::Error> {
                let ($first_value, $($rest_value,)*) = self;
                let mut args = PgArguments::default();
                args.add($first_value).map_err(sqlx::Error::Encode)?;
                $(args.add($rest_value).map_err(sqlx::Error::Encode)?;)*
                Ok(args)
            }
        }
        binds_for_tuples!($($rest $rest_value),*);
    };
}

binds_for_tuples!(
    B1 b1, B2 b2, B3 b3, B4 b4, B5 b5, B6 b6, B7 b7, B8 b8, B9 b9, B10 b10, B11 b11, B12 b12,
    B13 b13, B14 b14, B15 b15, B16 b16, B17 b17, B18 b18, B19 b19, B20 b20
);

/// `count` numbered placeholders from `$first` on, comma-separated (`$3, $4, $5`), for an
/// `IN (...)` list whose values are bound one by one; only the count shapes the SQL.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sqlx::$make(sql, arguments).$fetch(executor)` on whichever database `$on` holds.
macro_rules! run {
    ($on:expr, $sql:expr, $binds:expr, $make:ident . $fetch:ident) => {
        match $on {
            Backend::Sqlite(c) => sqlx::$make($sql, $binds.sqlite()?).$fetch(c).await,
            Backend::Postgres(c) => sqlx::$make($sql, $binds.postgres()?).$fetch(c).await,
        }
    };
}

/// One reading method per line of the table: its name and output, and the sqlx constructor and
/// fetch that produce it.
macro_rules! query_methods {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident<$t:ident: $bound:ident> -> $out:ty = $make:ident . $fetch:ident;
    )*) => {
        $(
            $(#[doc = $doc])*
            pub(crate) async fn $name<'q, $t: $bound>(
                self,
                sql: &'q str,
                binds: impl Binds<'q>,
            ) -> Result<$out, sqlx::Error> {
                run!(self, sql, binds, $make.$fetch)
            }
        )*
    };
}

impl<'c, S, P> Backend<S, P>
where
    S: Executor<'c, Database = Sqlite>,
    P: Executor<'c, Database = Postgres>,
{
    /// Runs a statement; returns how many rows it changed.
    pub(crate) async fn execute<'q>(
        self,
        sql: &'q str,
        binds: impl Binds<'q>,
    ) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Backend::Sqlite(c) => sqlx::query_with(sql, binds.sqlite()?)
                .execute(c)
                .await?
                .rows_affected(),
            Backend::Postgres(c) => sqlx::query_with(sql, binds.postgres()?)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    query_methods! {
        /// The first column of the one row the query returns.
        scalar<T: Scalar> -> T = query_scalar_with.fetch_one;
        /// The first column of the first row, if there is a row.
        scalar_optional<T: Scalar> -> Option<T> = query_scalar_with.fetch_optional;
        /// The first column of every row.
        scalars<T: Scalar> -> Vec<T> = query_scalar_with.fetch_all;
        /// The one row the query returns.
        row<R: Row> -> R = query_as_with.fetch_one;
        /// The first row, if there is one.
        row_optional<R: Row> -> Option<R> = query_as_with.fetch_optional;
        /// Every row.
        rows<R: Row> -> Vec<R> = query_as_with.fetch_all;
    }
}
