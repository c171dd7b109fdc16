-- Indexes for the console's live feeds and reports. Keep in step with migrations/sqlite.
--
-- A conversation's first agent message (first response times, on the wallboard and in
-- reports) is read straight from the index. (A visitor's latest pre-chat lead, the name the
-- queue view shows, uses `leads_visitor` of the next migration.)

CREATE INDEX messages_agent_first ON messages (conversation_id, created_at)
    WHERE author_kind = 'agent';
