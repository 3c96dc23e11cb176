-- Peer sync: the replicated registers, the log of the changes this node made, and how far each peer's log
-- has been applied here.

-- This node's log identity: a database made afresh under the same node name starts a new log, and peers must
-- not mistake it for the old one.
CREATE TABLE sync_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    log_id TEXT NOT NULL
);

-- One register per replicated object (vs/NAME, rs/NAME/ADDRESS:PORT, group/NAME): the JSON of
-- director_sync::Register. A deleted object keeps its register (a tombstone) so the delete wins everywhere.
CREATE TABLE sync_registers (
    key TEXT PRIMARY KEY NOT NULL,
    register TEXT NOT NULL
);

-- The changes made on this node, in order; peers pull them by sequence number.
CREATE TABLE sync_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change TEXT NOT NULL
);

-- For each peer, the log it is read from and the last sequence number applied here.
CREATE TABLE sync_cursors (
    origin TEXT PRIMARY KEY NOT NULL,
    log_id TEXT NOT NULL,
    seq INTEGER NOT NULL
);
