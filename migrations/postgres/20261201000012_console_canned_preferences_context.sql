-- The agent console: canned replies, agents' preferences, what the widget tells about its
-- visitor's page, browser and time zone, and the conversation a lead belongs to. Keep in step
-- with migrations/sqlite.

-- A prepared answer agents insert by typing `/shortcut`: for a whole site, or for one of its
-- departments. A shortcut is unique among the site-wide replies of a site, and among the
-- replies of one department.
CREATE TABLE canned_replies (
    id            UUID PRIMARY KEY NOT NULL,
    site_id       UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    department_id UUID REFERENCES departments (id) ON DELETE CASCADE,
    shortcut      TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX canned_replies_site_shortcut
    ON canned_replies (site_id, shortcut) WHERE department_id IS NULL;
CREATE UNIQUE INDEX canned_replies_department_shortcut
    ON canned_replies (site_id, department_id, shortcut) WHERE department_id IS NOT NULL;

-- An agent's console settings (language, sound, notifications, auto-away): a JSON object.
ALTER TABLE agents ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';

-- What the widget's session told last: its pages, the browser's User-Agent and time zone.
ALTER TABLE visitors ADD COLUMN landing_page TEXT;
ALTER TABLE visitors ADD COLUMN current_page TEXT;
ALTER TABLE visitors ADD COLUMN referrer TEXT;
ALTER TABLE visitors ADD COLUMN user_agent TEXT;
ALTER TABLE visitors ADD COLUMN time_zone TEXT;

-- The conversation a lead belongs to: the one open when the form was sent, or the one the
-- pre-chat form opened. `utm_source_key` is the source lower-cased, for the marketers' filter.
ALTER TABLE leads ADD COLUMN conversation_id UUID REFERENCES conversations (id) ON DELETE SET NULL;
ALTER TABLE leads ADD COLUMN utm_source_key TEXT;
UPDATE leads SET utm_source_key = LOWER(utm_source);
CREATE INDEX leads_visitor ON leads (visitor_id, created_at);
