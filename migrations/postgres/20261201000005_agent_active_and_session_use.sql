-- Sessions that end. Keep in step with migrations/sqlite.
--
-- A deactivated agent (`active` false) cannot log in and gets no chats. Sessions remember when
-- they were last used, for the optional idle timeout, and are found by agent when all of an
-- agent's sessions end at once (password change, role change, deactivation).

ALTER TABLE agents ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE agent_sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
UPDATE agent_sessions SET last_used_at = created_at;
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);
