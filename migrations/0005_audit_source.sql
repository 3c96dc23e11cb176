-- Which stream an audit entry belongs to: `change` (what people, pipelines, the CLI, imports and peers did,
-- logins included: the default view), `health` (real servers' health transitions) or `vrrp` (this node's
-- VRRP roles). Entries written before are classified by how they came in (`via`).
--
-- The log is append-only; the trigger that refuses updates is lifted for this one classification and put back.
ALTER TABLE audit ADD COLUMN source TEXT NOT NULL DEFAULT 'change';
DROP TRIGGER audit_no_update;
UPDATE audit SET source = via WHERE via IN ('health', 'vrrp');
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- The default view (`source = 'change'`, newest first) reads this index, not the transitions around it.
CREATE INDEX audit_source ON audit (source, id);
