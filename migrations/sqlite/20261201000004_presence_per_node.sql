-- Presence per node. Keep in step with migrations/postgres.
--
-- Each server process is a node with a lease it renews; an agent is online while some node
-- holds a presence row for them. `agents.online` stays, kept in step with the presence rows
-- in the same transactions, so routing reads one column. A node whose lease ran out (it
-- crashed) has its rows removed by any other node, which starts those agents' grace period at
-- the lease's end.

CREATE TABLE nodes (
    id          BLOB PRIMARY KEY NOT NULL,
    started_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);

CREATE TABLE agent_presence (
    agent_id     BLOB NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    node_id      BLOB NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    connected_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, node_id)
);
CREATE INDEX agent_presence_node ON agent_presence (node_id);

-- Nobody holds a presence row yet: whoever was online before this version gets the grace
-- period from now to come back (as a restart did before).
UPDATE agents SET online = 0, disconnected_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE online = 1;
