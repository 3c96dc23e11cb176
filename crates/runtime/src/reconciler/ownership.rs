//! Which kernel services director created (or adopted), kept in a file across restarts so that a service whose
//! virtual server was deleted while the daemon was down is still recognised as director's.

use director_kernel_table::ServiceKey;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Ownership {
    file: PathBuf,
    services: BTreeSet<ServiceKey>,
    dirty: bool,
}

impl Ownership {
    /// Loads the set; a missing or unreadable file means "nothing owned yet" (logged).
    pub fn load(file: &Path) -> Self {
        let services = match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %file.display(), error = %e, "unreadable ownership file; starting with none owned");
                BTreeSet::new()
            }),
            Err(_) => BTreeSet::new(),
        };
        Ownership {
            file: file.to_path_buf(),
            services,
            dirty: false,
        }
    }

    pub fn services(&self) -> &BTreeSet<ServiceKey> {
        &self.services
    }

    pub fn insert(&mut self, key: ServiceKey) {
        self.dirty |= self.services.insert(key);
    }

    pub fn remove(&mut self, key: &ServiceKey) {
        self.dirty |= self.services.remove(key);
    }

    pub fn clear(&mut self) {
        self.dirty |= !self.services.is_empty();
        self.services.clear();
    }

    /// Writes the set atomically (temporary file, fsync, rename) if it changed.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = self.file.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&self.services).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.file)?;
        self.dirty = false;
        Ok(())
    }
}
