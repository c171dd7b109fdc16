-- Indexes for the console's live feeds and reports. Keep in step with migrations/sqlite.
--
-- A conversation's first agent message (first response times, on the wallboard and in
-- reports) is read straight from the index, and so is a visitor's latest pre-chat lead (the
-- name the queue view shows).

CREATE INDEX messages_agent_first ON messages (conversation_id, created_at)
    WHERE author_kind = 'agent';
CREATE INDEX leads_visitor ON leads (visitor_id, created_at);
