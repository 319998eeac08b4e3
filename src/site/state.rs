//! The render state that makes `rewrite` re-runnable.
//!
//! Instead of a copy of every pristine file, one JSON file per web root records, for each file
//! cdnpub rendered, where the placeholders stood in its template and the SHA-256 of the outputs
//! rendered from it. A later run that finds one of those outputs rebuilds the exact template from
//! it (checked against the template's SHA-256) and renders again; a file with any other content
//! was replaced since (a new deploy) and becomes the new template. One small write per run
//! instead of one per file, and no template copies that nginx could serve by mistake.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::site::placeholder::Rendered;
use crate::util::atomic::{self, WriteOptions};

/// The state file's name in its directory.
const STATE_FILE: &str = "state.json";

/// How many renderings are remembered per file (the current one and a few before it).
const KEEP_RENDERINGS: usize = 4;
/// The state file's format version.
const VERSION: u32 = 1;

/// Where a file's template came from on this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// First run for this file: its current bytes are the template.
    New,
    /// Rebuilt from a rendering recorded by an earlier run.
    Kept,
    /// The file changed since cdnpub last wrote it: its current bytes are the new template.
    Adopted,
}

/// One output cdnpub rendered from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rendering {
    /// SHA-256 (hex) of the output.
    pub sha256: String,
    /// The server value placeholders became.
    pub server: String,
    /// The placeholder token.
    pub prefix: String,
    /// Offsets of the placeholders in the template.
    pub at: Vec<usize>,
    /// The subset of `at` whose URL-leading `/` was consumed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slash: Vec<usize>,
}

/// What the state knows about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// SHA-256 (hex) of the pristine template.
    pub template_sha256: String,
    /// Outputs rendered from it, oldest first.
    pub renderings: Vec<Rendering>,
}

/// The whole state of one web root.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Entries by path relative to the root.
    pub files: BTreeMap<String, Entry>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of `bytes` (a digest).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A template found for a file, and what to record once it is rendered.
#[derive(Debug, Clone)]
pub struct Found {
    /// The pristine bytes to render from.
    pub template: Vec<u8>,
    /// Where they came from.
    pub origin: Origin,
    /// SHA-256 of `template`.
    pub template_sha256: String,
}

impl State {
    /// The template for `rel`, given the file's `current` bytes.
    pub fn template_for(&self, rel: &str, current: &[u8]) -> Found {
        let sha = sha256_hex(current);
        let entry = self.files.get(rel);
        let rebuilt = entry.and_then(|e| {
            if e.template_sha256 == sha {
                return Some(current.to_vec());
            }
            let r = e.renderings.iter().rev().find(|r| r.sha256 == sha)?;
            rebuild(current, r).filter(|t| sha256_hex(t) == e.template_sha256)
        });
        match (rebuilt, entry) {
            (Some(template), Some(e)) => Found {
                template,
                origin: Origin::Kept,
                template_sha256: e.template_sha256.clone(),
            },
            (_, e) => Found {
                template: current.to_vec(),
                origin: if e.is_some() {
                    Origin::Adopted
                } else {
                    Origin::New
                },
                template_sha256: sha,
            },
        }
    }

    /// Record that `rendered` (from `found`, with `server`/`prefix`) is about to be written.
    pub fn record(
        &mut self,
        rel: &str,
        found: &Found,
        rendered: &Rendered,
        server: &str,
        prefix: &str,
    ) {
        let rendering = Rendering {
            sha256: sha256_hex(&rendered.bytes),
            server: server.to_string(),
            prefix: prefix.to_string(),
            at: rendered.at.clone(),
            slash: rendered.slash.clone(),
        };
        let entry = self.files.entry(rel.to_string()).or_insert_with(|| Entry {
            template_sha256: found.template_sha256.clone(),
            renderings: Vec::new(),
        });
        if found.origin != Origin::Kept || entry.template_sha256 != found.template_sha256 {
            entry.template_sha256 = found.template_sha256.clone();
            entry.renderings.clear();
        }
        entry.renderings.retain(|r| r.sha256 != rendering.sha256);
        entry.renderings.push(rendering);
        let excess = entry.renderings.len().saturating_sub(KEEP_RENDERINGS);
        entry.renderings.drain(..excess);
    }
}

/// Rebuild a template from an output and the rendering that produced it; None when the output
/// does not have the server value where the rendering put it.
pub fn rebuild(output: &[u8], r: &Rendering) -> Option<Vec<u8>> {
    let (server, prefix) = (r.server.as_bytes(), r.prefix.as_bytes());
    let mut template = Vec::with_capacity(output.len());
    let (mut out_pos, mut tpl_pos) = (0usize, 0usize);
    for &at in &r.at {
        let slash = r.slash.binary_search(&at).is_ok();
        let verbatim = at.checked_sub(tpl_pos)?.checked_sub(usize::from(slash))?;
        template.extend_from_slice(output.get(out_pos..out_pos + verbatim)?);
        out_pos += verbatim;
        if slash {
            template.push(b'/');
        }
        if output.get(out_pos..out_pos + server.len())? != server {
            return None;
        }
        template.extend_from_slice(prefix);
        out_pos += server.len();
        tpl_pos = at + prefix.len();
    }
    template.extend_from_slice(output.get(out_pos..)?);
    Some(template)
}

/// The state file of one web root, and its lock.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// The state directory: `explicit` (`--state-dir`), else the first candidate that can be
    /// used (made, with `create`); absolute, through symlinks where it exists.
    pub fn resolve_dir(
        explicit: Option<&Path>,
        root: &Path,
        create: bool,
    ) -> crate::error::Result<PathBuf> {
        let dir = match explicit {
            Some(d) => d.to_path_buf(),
            None => StateStore::pick_dir(root, create).ok_or_else(|| {
                crate::error::Error::Usage(format!(
                    "no directory to keep the render state of {} can be written (tried: {}); set --state-dir / CDNPUB_STATE_DIR",
                    root.display(),
                    StateStore::candidate_dirs(root)
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        };
        // Canonicalise what exists so "inside the root" comparisons hold through symlinks.
        Ok(
            std::fs::canonicalize(&dir)
                .unwrap_or_else(|_| std::path::absolute(&dir).unwrap_or(dir)),
        )
    }

    /// The default state directory for `root` (canonical): `<parent>/.cdnpub/<root name>`,
    /// outside the web root so nginx never serves it.
    pub fn default_dir(root: &Path) -> Option<PathBuf> {
        Some(root.parent()?.join(".cdnpub").join(root.file_name()?))
    }

    /// Where the state of `root` may live, in the order tried: beside the root
    /// ([`StateStore::default_dir`]), then the user's state directory
    /// (`$XDG_STATE_HOME/cdnpub/<root id>`, else `$HOME/.local/state/cdnpub/<root id>`), then the
    /// system's temporary directory (`cdnpub-state/<root id>`); `<root id>` is 16 hex of the
    /// SHA-256 of the root's path. A non-root container user whose web root's parent is
    /// root-owned gets the second or third.
    pub fn candidate_dirs(root: &Path) -> Vec<PathBuf> {
        let id = &sha256_hex(root.to_string_lossy().as_bytes())[..16];
        let var = |n: &str| {
            std::env::var_os(n)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let user = var("XDG_STATE_HOME").or_else(|| var("HOME").map(|h| h.join(".local/state")));
        Self::default_dir(root)
            .into_iter()
            .chain(user.map(|d| d.join("cdnpub").join(id)))
            .chain([std::env::temp_dir().join("cdnpub-state").join(id)])
            .collect()
    }

    /// The state directory for `root`: the first candidate that already holds a state (a
    /// previous run's), else the first one that can be written (created when `create`).
    pub fn pick_dir(root: &Path, create: bool) -> Option<PathBuf> {
        let candidates = Self::candidate_dirs(root);
        if let Some(d) = candidates.iter().find(|d| d.join(STATE_FILE).is_file()) {
            return Some(d.clone());
        }
        if !create {
            return candidates.into_iter().next();
        }
        candidates.into_iter().find(|d| writable(d))
    }

    /// A store in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        StateStore { dir }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Read the state (empty when there is none yet). A damaged file is an error naming it.
    pub fn load(&self) -> Result<State> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: VERSION,
                    ..State::default()
                })
            }
            Err(e) => return Err(Error::io("read the rewrite state", path, e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!(
                "the rewrite state is damaged ({e}); delete it to start over: files already rendered keep \
                 their content but can no longer be re-rendered with another server"
            ),
        })?;
        if state.version != VERSION {
            return Err(Error::Config {
                path,
                message: format!(
                    "state version {} is not {VERSION}; written by another cdnpub version",
                    state.version
                ),
            });
        }
        Ok(state)
    }

    /// Write the state atomically.
    pub fn save(&self, state: &State, opts: WriteOptions) -> Result<()> {
        let bytes = serde_json::to_vec(state)
            .map_err(|e| Error::Failed(format!("serialising the rewrite state: {e}")))?;
        atomic::replace(&self.path(), &bytes, opts).map(|_| ())
    }

    /// Take the store's exclusive lock (waiting for another run to finish), creating the
    /// directory. While it is held, cdnpub temp files under the root are leftovers of a killed run.
    pub fn lock(&self) -> Result<fs::File> {
        fs::create_dir_all(&self.dir).map_err(|e| {
            Error::io("create the state directory (set --state-dir / CDNPUB_STATE_DIR to a writable place)", &self.dir, e)
        })?;
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }
}

/// True when `dir` exists or can be made, and a file can be created in it.
fn writable(dir: &Path) -> bool {
    if fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(format!(".cdnpub-probe-{}", std::process::id()));
    let ok = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::placeholder::{resolve_server, Renderer};

    fn render(tpl: &[u8], server: &str) -> Rendered {
        Renderer::new("EGOVA_CDN", &resolve_server(server).unwrap()).render(tpl)
    }

    #[test]
    fn rebuild_inverts_render_including_consumed_slashes() {
        let tpl = b"<a href=\"/EGOVA_CDN/x\">EGOVA_CDN</a>EGOVA_CDN/EGOVA_CDN\xff";
        for server in ["https://cdn.example.com/p", "", "http://h"] {
            let r = render(tpl, server);
            let rec = Rendering {
                sha256: sha256_hex(&r.bytes),
                server: resolve_server(server).unwrap().value,
                prefix: "EGOVA_CDN".into(),
                at: r.at.clone(),
                slash: r.slash.clone(),
            };
            assert_eq!(rebuild(&r.bytes, &rec).unwrap(), tpl, "server {server:?}");
        }
    }

    #[test]
    fn lifecycle_new_kept_adopted() {
        let mut state = State::default();
        let tpl = b"X EGOVA_CDN".to_vec();
        let found = state.template_for("a/index.html", &tpl);
        assert_eq!(found.origin, Origin::New);
        let one = render(&found.template, "https://one");
        state.record("a/index.html", &found, &one, "https://one", "EGOVA_CDN");
        // The file now holds the rendered output: the template is rebuilt from it.
        let again = state.template_for("a/index.html", &one.bytes);
        assert_eq!(
            (again.template.clone(), again.origin),
            (tpl.clone(), Origin::Kept)
        );
        // A crash before the file was replaced: it still holds the template.
        assert_eq!(
            state.template_for("a/index.html", &tpl).origin,
            Origin::Kept
        );
        // Another rendering, then the older output is still recognised.
        let two = render(&again.template, "https://two");
        state.record("a/index.html", &again, &two, "https://two", "EGOVA_CDN");
        assert_eq!(state.template_for("a/index.html", &one.bytes).template, tpl);
        // A new deploy replaced the file: it becomes the template.
        let adopted = state.template_for("a/index.html", b"Y EGOVA_CDN");
        assert_eq!(
            (adopted.template.as_slice(), adopted.origin),
            (&b"Y EGOVA_CDN"[..], Origin::Adopted)
        );
    }

    #[test]
    fn a_tampered_output_is_not_rebuilt() {
        let r = Rendering {
            sha256: String::new(),
            server: "https://one".into(),
            prefix: "EGOVA_CDN".into(),
            at: vec![2],
            slash: vec![],
        };
        assert_eq!(rebuild(b"X https://one", &r).unwrap(), b"X EGOVA_CDN");
        assert!(rebuild(b"X https://two", &r).is_none());
        assert!(rebuild(b"X", &r).is_none());
    }
}
