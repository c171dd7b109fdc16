//! The two migration folders must carry the same versions with the same names, so both
//! backends always have the same schema history.

use std::path::Path;

fn migrations(dialect: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dialect);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_migrations_do_not_drift() {
    let sqlite = migrations("sqlite");
    let postgres = migrations("postgres");
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must have the same files (version_name.sql)"
    );
    for name in &sqlite {
        let version = name.split('_').next().unwrap_or_default();
        assert!(
            version.len() == 14 && version.chars().all(|c| c.is_ascii_digit()),
            "{name}: migrations are named YYYYMMDDhhmmss_description.sql"
        );
    }
}
