//! Atomic file replacement: write a temp file in the same directory, copy the old file's mode
//! (and owner, where allowed), then rename over the target. A crash leaves the old or the new
//! file, never half of one.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::platform;

use crate::error::{Error, Result};

/// Suffix of every temporary file cdnpub creates (a killed run may leave one behind; the next
/// run removes it).
pub const TEMP_SUFFIX: &str = ".cdnpub-tmp";

/// How a replacement should be made durable.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// fsync the file before the rename and its directory after (survives power loss, slower).
    pub fsync: bool,
}

/// Replace (or create) `path` with `bytes` atomically. An existing file's permission bits and
/// ownership are kept; a new file gets `0644` minus the umask, like `cp`.
///
/// Returns a warning when ownership could not be kept (we are not root and the file belongs to
/// someone else): the content is still written, as `sed -i` would.
pub fn replace(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<Option<String>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read metadata of", path, e)),
    };
    // Created with the wanted mode; only when the umask strips some of it is a chmod needed.
    let mode = platform::mode_for(existing.as_ref());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    platform::create_with_mode(&mut builder, mode);
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
    platform::restore_mode(tmp.as_file(), tmp.path(), mode)?;
    let mut warning = None;
    if let Some(meta) = existing {
        warning = platform::keep_owner(tmp.as_file(), path, &meta);
    }
    if opts.fsync {
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("fsync", tmp.path().to_path_buf(), e))?;
    }
    kill_point();
    tmp.persist(path)
        .map_err(|e| Error::io("rename a temporary file onto", path, e.error))?;
    if opts.fsync {
        platform::sync_dir(dir).map_err(|e| Error::io("fsync directory", dir, e))?;
    }
    Ok(warning)
}

/// The crash tests' hook (like `CDNPUB_DEBUG_PANIC`): with `CDNPUB_DEBUG_KILL_AT=N` the process
/// aborts, as `kill -9` would (no destructor runs, the temporary file stays), at the Nth
/// replacement, its temporary file written and not yet renamed: a kill at an exact moment
/// instead of after a guessed sleep.
fn kill_point() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static AT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    static DONE: AtomicUsize = AtomicUsize::new(0);
    let at = AT.get_or_init(|| {
        std::env::var("CDNPUB_DEBUG_KILL_AT")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(at) = *at {
        if DONE.fetch_add(1, Ordering::SeqCst) + 1 == at {
            std::process::abort();
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn keeps_mode_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.html");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        replace(&p, b"new", WriteOptions::default()).unwrap();
        let g = dir.path().join("group-writable.html");
        fs::write(&g, "old").unwrap();
        fs::set_permissions(&g, Permissions::from_mode(0o664)).unwrap();
        replace(&g, b"new", WriteOptions::default()).unwrap();
        assert_eq!(
            fs::metadata(&g).unwrap().mode() & 0o7777,
            0o664,
            "umask must not strip kept bits"
        );
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o640);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "temp file left behind: {names:?}");
        replace(
            &dir.path().join("fresh.txt"),
            b"x",
            WriteOptions { fsync: true },
        )
        .unwrap();
        assert_eq!(fs::read(dir.path().join("fresh.txt")).unwrap(), b"x");
    }
}
/// Remove temp files a killed run left (safe: we hold the state's lock, so no run is writing).
pub fn remove_stale_temps(paths: &[std::path::PathBuf]) {
    for p in paths {
        match std::fs::remove_file(p) {
            Ok(()) => tracing::debug!("removed {}, left by an interrupted run", p.display()),
            Err(e) => tracing::warn!(
                "could not remove {}, left by an interrupted run: {e}",
                p.display()
            ),
        }
    }
}
