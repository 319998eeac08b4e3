//! Everything that differs between Unix (Linux, macOS) and Windows, in one place: a replaced
//! file's permission bits and owner, and a relative path written as a `/`-separated key.
//!
//! Unix keeps the old file's mode and owner, as `sed -i` does. Windows has neither (a file's
//! access is its directory's ACL, inherited by the new file), so there the new file simply takes
//! what its directory gives; nothing to copy, nothing to warn about.

use std::fs::{File, Metadata};
use std::path::Path;

use crate::error::Result;

/// A path relative to a root as a key or URL path: its components joined by `/` whatever the
/// platform's separator. None when a component is not UTF-8 (no URL can name it).
pub fn slash_path(rel: &Path) -> Option<String> {
    let mut out = String::new();
    for part in rel.iter() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part.to_str()?);
    }
    Some(out)
}

/// [`slash_path`], with U+FFFD for what is not UTF-8 (for state keys and messages).
pub fn slash_path_lossy(rel: &Path) -> String {
    rel.iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `key` can be a path on this platform's file systems as it is: on Windows a `\` would
/// be read as a separator, `:` names a file's alternate stream, and `<>"|?*` are not allowed.
pub fn key_fits_file_system(key: &str) -> bool {
    cfg!(unix) || !key.contains(['\\', ':', '<', '>', '"', '|', '?', '*'])
}

#[cfg(unix)]
mod imp {
    use super::*;
    use std::fs::{self, Permissions};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use crate::error::Error;

    /// The permission bits a replacement of a file with `existing` metadata gets: the old
    /// file's, or `0644` minus the umask for a new file, like `cp`.
    pub fn mode_for(existing: Option<&Metadata>) -> u32 {
        existing.map_or(0o644 & !umask(), |m| m.mode() & 0o7777)
    }

    /// Create the temporary file with `mode` (no window in which it has other bits).
    pub fn create_with_mode(builder: &mut tempfile::Builder, mode: u32) {
        builder.permissions(Permissions::from_mode(mode));
    }

    /// Set `mode` again where the umask stripped some of it at creation.
    pub fn restore_mode(file: &File, path: &Path, mode: u32) -> Result<()> {
        if mode & umask() == 0 {
            return Ok(());
        }
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| Error::io("set permissions of", path, e))
    }

    /// Give `file` the owner of `like` unless it has it already (a stat is cheaper than a
    /// chown, which writes the inode). Returns a warning when the owner cannot be kept.
    pub fn keep_owner(file: &File, path: &Path, like: &Metadata) -> Option<String> {
        let (uid, gid) = (like.uid(), like.gid());
        if file
            .metadata()
            .is_ok_and(|m| m.uid() == uid && m.gid() == gid)
        {
            return None;
        }
        std::os::unix::fs::fchown(file, Some(uid), Some(gid)).err().map(|e| {
            format!(
                "{}: could not keep owner {uid}:{gid} ({e}); the new file belongs to the user running cdnpub",
                path.display()
            )
        })
    }

    /// fsync a directory, so a rename in it survives power loss.
    pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
        File::open(dir).and_then(|d| d.sync_all())
    }

    /// The process umask, read once without changing it (from /proc; 022 where there is none,
    /// as on macOS).
    fn umask() -> u32 {
        static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *UMASK.get_or_init(|| {
            fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Umask:"))
                        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
                })
                .unwrap_or(0o022)
        })
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;

    /// No permission bits off Unix.
    pub fn mode_for(_existing: Option<&Metadata>) -> u32 {
        0
    }

    /// The new file takes its directory's ACL.
    pub fn create_with_mode(_builder: &mut tempfile::Builder, _mode: u32) {}

    /// Nothing to restore off Unix.
    pub fn restore_mode(_file: &File, _path: &Path, _mode: u32) -> Result<()> {
        Ok(())
    }

    /// Windows cannot open a directory as a file; NTFS journals the rename itself.
    pub fn sync_dir(_dir: &Path) -> std::io::Result<()> {
        Ok(())
    }

    /// Owners are not copied off Unix: the directory's ACL applies to the new file.
    pub fn keep_owner(_file: &File, _path: &Path, _like: &Metadata) -> Option<String> {
        None
    }
}

pub use imp::{create_with_mode, keep_owner, mode_for, restore_mode, sync_dir};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_slash_separated() {
        let rel: std::path::PathBuf = ["assets", "app.js"].iter().collect();
        assert_eq!(slash_path(&rel).as_deref(), Some("assets/app.js"));
        assert_eq!(slash_path_lossy(&rel), "assets/app.js");
        assert_eq!(
            slash_path(Path::new("index.html")).as_deref(),
            Some("index.html")
        );
    }
}
