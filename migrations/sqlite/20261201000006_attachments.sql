-- Attachments. Keep in step with migrations/postgres.
--
-- A file a visitor or agent attached to a conversation: its cleaned name, the type found in
-- its first bytes, its size and the key of its bytes in the blob store (the bytes never live
-- in the database). The message that carries it points at it; a message has at most one.

CREATE TABLE attachments (
    id              BLOB PRIMARY KEY NOT NULL,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    uploader_kind   TEXT NOT NULL CHECK (uploader_kind IN ('visitor', 'agent')),
    uploader_id     BLOB NOT NULL,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL CHECK (size > 0),
    blob_key        TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id);

ALTER TABLE messages ADD COLUMN attachment_id BLOB REFERENCES attachments (id);
