-- The desired state, users and the audit log of director.

-- One row: the global revision, bumped by every desired-state change.
CREATE TABLE state_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO state_revision (id, value) VALUES (1, 0);

CREATE TABLE virtual_servers (
    name TEXT PRIMARY KEY NOT NULL,
    -- The virtual server as JSON, without its real servers.
    spec TEXT NOT NULL,
    -- "tcp 10.0.0.1:80" or "fwmark 7 (inet)": a second guard against duplicates, after validation.
    service_key TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE real_servers (
    virtual_server TEXT NOT NULL REFERENCES virtual_servers (name) ON DELETE CASCADE,
    -- "192.168.10.120:80" or "[2001:db8::1]:80"
    endpoint TEXT NOT NULL,
    -- Order within the virtual server, as declared.
    position INTEGER NOT NULL,
    spec TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (virtual_server, endpoint)
);

CREATE TABLE vrrp_groups (
    name TEXT PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    name TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Append-only: nothing in director updates or deletes a row.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL,
    node TEXT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    object TEXT NOT NULL,
    -- The changed fields (comma-separated, with leading and trailing commas) so that `field=weight` is one
    -- indexed-enough LIKE.
    fields TEXT NOT NULL DEFAULT '',
    before TEXT,
    after TEXT,
    summary TEXT NOT NULL,
    revision INTEGER
);
CREATE INDEX audit_kind_action ON audit (kind, action, id);
CREATE INDEX audit_object ON audit (object, id);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_at ON audit (at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
