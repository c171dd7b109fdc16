-- Bellhop schema, PostgreSQL dialect. Keep in step with migrations/sqlite (same versions).
-- Ids are UUIDs; times are milliseconds since the Unix epoch.

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);

CREATE TABLE sites (
    id              UUID PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    widget_key      TEXT NOT NULL UNIQUE,
    -- JSON array of origins allowed to open the widget socket.
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    auto_reply      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE agents (
    id               UUID PRIMARY KEY NOT NULL,
    email            TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    max_chats        BIGINT NOT NULL CHECK (max_chats >= 0),
    online           BOOLEAN NOT NULL DEFAULT FALSE,
    -- When the agent last got a conversation or came online: longest idle goes first.
    idle_since       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE agent_sites (
    agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    site_id  UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, site_id)
);
CREATE INDEX agent_sites_site ON agent_sites (site_id);

CREATE TABLE agent_sessions (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    agent_id   UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE visitors (
    id         UUID PRIMARY KEY NOT NULL,
    site_id    UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversations (
    id          UUID PRIMARY KEY NOT NULL,
    site_id     UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    visitor_id  UUID NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'assigned', 'closed')),
    agent_id    UUID REFERENCES agents (id) ON DELETE SET NULL,
    -- The highest seq stored; bumped in the transaction that stores a message.
    last_seq    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    queued_at   BIGINT NOT NULL,
    assigned_at BIGINT,
    closed_at   BIGINT,
    CHECK (status <> 'assigned' OR agent_id IS NOT NULL),
    CHECK (status <> 'queued' OR agent_id IS NULL)
);
-- A visitor has at most one open conversation per site (a visitor belongs to one site).
CREATE UNIQUE INDEX conversations_one_open_per_visitor
    ON conversations (visitor_id) WHERE status <> 'closed';
CREATE INDEX conversations_queue ON conversations (site_id, queued_at) WHERE status = 'queued';
CREATE INDEX conversations_agent_open ON conversations (agent_id) WHERE status = 'assigned';
CREATE INDEX conversations_site_created ON conversations (site_id, created_at);

CREATE TABLE messages (
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL CHECK (seq > 0),
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('visitor', 'agent', 'system')),
    -- The visitor or agent who wrote it; NULL for system messages.
    author_id       UUID,
    client_id       TEXT,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
-- Idempotent resends: one message per (author, client id).
CREATE UNIQUE INDEX messages_author_client_id
    ON messages (author_id, client_id) WHERE client_id IS NOT NULL;
