-- Notes, whispers and picking. Keep in step with migrations/postgres.
--
-- `notes` holds what agents write beside a conversation for agents only: notes of the serving
-- agent, whispers of a supervisor to them, and the notes transfers carried. They are not
-- messages: no `seq` of their own (`after_seq` places them after a message in the timeline),
-- so nothing that reads messages can carry one to a visitor. They go with their conversation
-- when it is deleted. A note written from a socket has its author's `client_id`, which makes a
-- resend idempotent.
--
-- `agents.may_pick`: whether the agent may take waiting chats from the queue view.

CREATE TABLE notes (
    id              BLOB PRIMARY KEY NOT NULL,
    conversation_id BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('note', 'whisper', 'transfer')),
    author_id       BLOB NOT NULL REFERENCES agents (id),
    client_id       TEXT,
    body            TEXT NOT NULL,
    after_seq       INTEGER NOT NULL CHECK (after_seq >= 0),
    created_at      INTEGER NOT NULL
);
CREATE INDEX notes_conversation ON notes (conversation_id, created_at);
CREATE UNIQUE INDEX notes_author_client_id
    ON notes (author_id, client_id) WHERE client_id IS NOT NULL;

ALTER TABLE agents ADD COLUMN may_pick INTEGER NOT NULL DEFAULT 1;
