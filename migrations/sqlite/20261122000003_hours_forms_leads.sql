-- Business hours, pre-chat and offline forms, leads, inactivity. Keep in step with
-- migrations/postgres.

-- JSON: business hours (NULL = always open), the forms, inactivity and identity settings.
ALTER TABLE sites ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
-- JSON business hours overriding the site's (NULL = the site's).
ALTER TABLE departments ADD COLUMN hours TEXT;

-- When the visitor last wrote (inactivity), and whether any agent ever answered (missed chats).
ALTER TABLE conversations ADD COLUMN last_visitor_at INTEGER;
ALTER TABLE conversations ADD COLUMN agent_replied INTEGER NOT NULL DEFAULT 0 CHECK (agent_replied IN (0, 1));
ALTER TABLE conversations ADD COLUMN missed INTEGER NOT NULL DEFAULT 0 CHECK (missed IN (0, 1));
UPDATE conversations SET
    last_visitor_at = COALESCE((SELECT MAX(m.created_at) FROM messages m
                                WHERE m.conversation_id = conversations.id
                                AND m.author_kind = 'visitor'), created_at),
    agent_replied = EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id
                            AND m.author_kind = 'agent');
CREATE INDEX conversations_open_activity ON conversations (last_visitor_at) WHERE status <> 'closed';

CREATE TABLE leads (
    id            BLOB PRIMARY KEY NOT NULL,
    site_id       BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    visitor_id    BLOB REFERENCES visitors (id) ON DELETE SET NULL,
    -- 'prechat' or 'offline'
    kind          TEXT NOT NULL CHECK (kind IN ('prechat', 'offline')),
    department_id BLOB REFERENCES departments (id) ON DELETE SET NULL,
    name          TEXT,
    email         TEXT,
    phone         TEXT,
    message       TEXT,
    -- JSON object of the site's custom fields.
    custom        TEXT NOT NULL DEFAULT '{}',
    consent       INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
    landing_page  TEXT,
    current_page  TEXT,
    referrer      TEXT,
    utm_source    TEXT,
    utm_medium    TEXT,
    utm_campaign  TEXT,
    utm_term      TEXT,
    utm_content   TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX leads_site_created ON leads (site_id, created_at);
