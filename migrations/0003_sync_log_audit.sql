-- A log entry no longer copies its change's audit entries: they are the audit rows audit_first .. audit_first +
-- audit_count - 1 (written in the same transaction, consecutive), added to the entry when a peer pulls it.
-- Entries written before this hold them inline and have NULL here.
ALTER TABLE sync_log ADD COLUMN audit_first INTEGER;
ALTER TABLE sync_log ADD COLUMN audit_count INTEGER;
