-- Ratings and the mail outbox. Keep in step with migrations/sqlite.
--
-- A visitor rates a closed conversation once: score 1 to 5, an optional comment, when. All
-- three are NULL until then.
--
-- `mail_outbox` is the queue of mails to send (transcripts), kept in the database so that a
-- queued mail survives a restart or a crash. A sender claims a due row by moving its
-- `next_attempt_at` past the time it needs to send it (a lease), so that no other node sends
-- it meanwhile; sent rows get `sent_at`, and rows given up on keep their last error with no
-- next attempt.

ALTER TABLE conversations ADD COLUMN rating_score BIGINT
    CHECK (rating_score IS NULL OR rating_score BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
ALTER TABLE conversations ADD COLUMN rated_at BIGINT;

CREATE TABLE mail_outbox (
    id              UUID PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- Attempts begun (counted when a sender claims the row).
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- When the row is next due; NULL once sent or given up on.
    next_attempt_at BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
