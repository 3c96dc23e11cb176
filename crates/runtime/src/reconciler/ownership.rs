//! Which kernel services and sync daemons director created (or adopted), kept in a file across restarts so
//! that a service whose virtual server was deleted while the daemon was down, or a sync daemon no group asks
//! for any more, is still recognised as director's.
//!
//! The file is `{"services": [...], "sync_daemons": ["master", "backup"]}`; a bare array of services (what
//! earlier versions wrote) is read as services only.

use director_kernel_table::{ServiceKey, SyncState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Owned {
    services: BTreeSet<ServiceKey>,
    #[serde(default)]
    sync_daemons: BTreeSet<SyncState>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Owned(Owned),
    ServicesOnly(BTreeSet<ServiceKey>),
}

pub struct Ownership {
    file: PathBuf,
    owned: Owned,
    dirty: bool,
}

impl Ownership {
    /// Loads the set; a missing or unreadable file means "nothing owned yet" (logged).
    pub fn load(file: &Path) -> Self {
        let owned = match std::fs::read(file) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(OnDisk::Owned(o)) => o,
                Ok(OnDisk::ServicesOnly(services)) => Owned {
                    services,
                    ..Owned::default()
                },
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "unreadable ownership file; starting with none owned");
                    Owned::default()
                }
            },
            Err(_) => Owned::default(),
        };
        Ownership {
            file: file.to_path_buf(),
            owned,
            dirty: false,
        }
    }

    pub fn services(&self) -> &BTreeSet<ServiceKey> {
        &self.owned.services
    }

    pub fn insert(&mut self, key: ServiceKey) {
        self.dirty |= self.owned.services.insert(key);
    }

    pub fn remove(&mut self, key: &ServiceKey) {
        self.dirty |= self.owned.services.remove(key);
    }

    pub fn sync_daemons(&self) -> &BTreeSet<SyncState> {
        &self.owned.sync_daemons
    }

    pub fn insert_sync_daemon(&mut self, state: SyncState) {
        self.dirty |= self.owned.sync_daemons.insert(state);
    }

    pub fn remove_sync_daemon(&mut self, state: SyncState) {
        self.dirty |= self.owned.sync_daemons.remove(&state);
    }

    pub fn clear(&mut self) {
        self.dirty |= !self.owned.services.is_empty() || !self.owned.sync_daemons.is_empty();
        self.owned = Owned::default();
    }

    /// Writes the set atomically (temporary file, fsync, rename) if it changed.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = self.file.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&self.owned).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.file)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_earlier_versions_is_read_and_daemons_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ipvs-owned.json");
        let key = ServiceKey::Fwmark {
            mark: 7,
            family: director_kernel_table::Family::Inet,
        };
        std::fs::write(&file, serde_json::to_vec(&[&key]).unwrap()).unwrap();
        let mut o = Ownership::load(&file);
        assert_eq!(o.services().len(), 1);
        assert!(o.sync_daemons().is_empty());
        o.insert_sync_daemon(SyncState::Backup);
        o.save().unwrap();
        let o = Ownership::load(&file);
        assert!(o.services().contains(&key));
        assert_eq!(o.sync_daemons(), &BTreeSet::from([SyncState::Backup]));
    }
}
