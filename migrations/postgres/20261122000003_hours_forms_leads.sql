-- Business hours, pre-chat and offline forms, leads, inactivity. Keep in step with
-- migrations/sqlite.

-- JSON: business hours (NULL = always open), the forms, inactivity and identity settings.
ALTER TABLE sites ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
-- JSON business hours overriding the site's (NULL = the site's).
ALTER TABLE departments ADD COLUMN hours TEXT;

-- When the visitor last wrote (inactivity), and whether any agent ever answered (missed chats).
ALTER TABLE conversations ADD COLUMN last_visitor_at BIGINT;
ALTER TABLE conversations ADD COLUMN agent_replied BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN missed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET
    last_visitor_at = COALESCE((SELECT MAX(m.created_at) FROM messages m
                                WHERE m.conversation_id = conversations.id
                                AND m.author_kind = 'visitor'), created_at),
    agent_replied = EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id
                            AND m.author_kind = 'agent');
CREATE INDEX conversations_open_activity ON conversations (last_visitor_at) WHERE status <> 'closed';

CREATE TABLE leads (
    id            UUID PRIMARY KEY NOT NULL,
    site_id       UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    visitor_id    UUID REFERENCES visitors (id) ON DELETE SET NULL,
    -- 'prechat' or 'offline'
    kind          TEXT NOT NULL CHECK (kind IN ('prechat', 'offline')),
    department_id UUID REFERENCES departments (id) ON DELETE SET NULL,
    name          TEXT,
    email         TEXT,
    phone         TEXT,
    message       TEXT,
    -- JSON object of the site's custom fields.
    custom        TEXT NOT NULL DEFAULT '{}',
    consent       BOOLEAN NOT NULL DEFAULT FALSE,
    landing_page  TEXT,
    current_page  TEXT,
    referrer      TEXT,
    utm_source    TEXT,
    utm_medium    TEXT,
    utm_campaign  TEXT,
    utm_term      TEXT,
    utm_content   TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX leads_site_created ON leads (site_id, created_at);
