-- Routing: departments (topics) with fallbacks, agent availability, queue priority,
-- and the audit of every assignment. Keep in step with migrations/sqlite.

CREATE TABLE departments (
    id          UUID PRIMARY KEY NOT NULL,
    site_id     UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- Used when none of this department's agents is online (one level, no chains).
    fallback_id UUID REFERENCES departments (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (site_id, name)
);

-- Every site gets a default department; existing agents of a site serve it.
INSERT INTO departments (id, site_id, name, created_at)
    SELECT gen_random_uuid(), id, 'General', created_at FROM sites;
ALTER TABLE sites ADD COLUMN default_department_id UUID REFERENCES departments (id);
UPDATE sites SET default_department_id =
    (SELECT d.id FROM departments d WHERE d.site_id = sites.id);

CREATE TABLE agent_departments (
    agent_id      UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    department_id UUID NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, department_id)
);
CREATE INDEX agent_departments_department ON agent_departments (department_id);
INSERT INTO agent_departments (agent_id, department_id)
    SELECT s.agent_id, d.id FROM agent_sites s JOIN departments d ON d.site_id = s.site_id;

-- Away agents keep their chats but get no new ones. An agent whose connections all dropped
-- keeps their chats until disconnected_at + the grace period.
ALTER TABLE agents ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agents ADD COLUMN disconnected_at BIGINT;

ALTER TABLE conversations ADD COLUMN department_id UUID REFERENCES departments (id);
UPDATE conversations SET department_id =
    (SELECT s.default_department_id FROM sites s WHERE s.id = conversations.site_id);
-- 1 = urgent, 0 = normal: higher first, then requeued first, then arrival order.
ALTER TABLE conversations ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN requeued BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX conversations_queue;
CREATE INDEX conversations_queue ON conversations (department_id, priority, queued_at)
    WHERE status = 'queued';
CREATE INDEX conversations_visitor ON conversations (visitor_id, created_at);

-- Identity-verified visitors: the site's own user id and attributes (e.g. {"vip": true}).
ALTER TABLE visitors ADD COLUMN user_id TEXT;
ALTER TABLE visitors ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';

CREATE TABLE routing_decisions (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    decided_at      BIGINT NOT NULL,
    agent_id        UUID,
    department_id   UUID,
    -- sticky, least_loaded, longest_idle, transfer_to_agent, transfer_to_department, requeued
    rule            TEXT NOT NULL,
    -- JSON: the candidates considered with their loads and caps.
    candidates      TEXT NOT NULL DEFAULT '[]',
    note            TEXT
);
CREATE INDEX routing_decisions_conversation ON routing_decisions (conversation_id, id);
