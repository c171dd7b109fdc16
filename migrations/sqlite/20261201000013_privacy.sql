-- Privacy: the audit log, erased visitors, and what ties a queued mail to its visitor. Keep
-- in step with migrations/postgres.

-- Actions taken on people's data (export, erase, retention sweeps), newest read first. The
-- actor's name is kept as it was, so the log reads the same after a rename; no foreign keys,
-- so nothing a row names can take it away.
CREATE TABLE audit_log (
    id         BLOB PRIMARY KEY NOT NULL,
    at         INTEGER NOT NULL,
    -- NULL for the server's own actions (the retention sweeper).
    actor_id   BLOB,
    actor_name TEXT,
    action     TEXT NOT NULL,
    site_id    BLOB,
    subject    TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_site ON audit_log (site_id, at, id);

-- Visitors erased on request: a visitor token of theirs issued at or before `erased_at` no
-- longer works (a widget session with it gets a fresh visitor). Only the id is kept.
CREATE TABLE erased_visitors (
    id        BLOB PRIMARY KEY NOT NULL,
    erased_at INTEGER NOT NULL
);

-- The visitor a mail is for (a transcript they asked for), so erasing them removes it.
ALTER TABLE mail_outbox ADD COLUMN visitor_id BLOB REFERENCES visitors (id) ON DELETE CASCADE;
CREATE INDEX mail_outbox_visitor ON mail_outbox (visitor_id) WHERE visitor_id IS NOT NULL;

-- The retention sweeper looks for closed conversations by site and age.
CREATE INDEX conversations_closed_at ON conversations (site_id, closed_at) WHERE status = 'closed';
