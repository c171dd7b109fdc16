-- Read marks. Keep in step with migrations/postgres.
--
-- How far each side has read a conversation: the visitor, and the agent side (one position
-- for whoever serves it). Positions are message `seq`s; 0 means nothing read. They only move
-- forward, never past `last_seq`.

ALTER TABLE conversations ADD COLUMN visitor_read_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN agent_read_seq INTEGER NOT NULL DEFAULT 0;
