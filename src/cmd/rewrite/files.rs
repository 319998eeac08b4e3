//! One file through `rewrite`: planned in memory (its template, the rendering), then written
//! (siblings first, the file itself last: the commit point a re-run looks at).

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use super::config::RewriteConfig;
use super::report::FileOutcome;
use crate::error::{Error, Result};
use crate::site::placeholder::{Rendered, Renderer};
use crate::site::scan::Selected;
use crate::site::siblings::{self, Sibling};
use crate::site::state::{Found, Origin};
use crate::util::atomic::{self, WriteOptions};

/// One file, planned: everything needed to write it.
pub(super) struct Plan {
    pub(super) file: Selected,
    pub(super) found: Found,
    pub(super) rendered: Rendered,
    pub(super) changed: bool,
}

/// The state's key for a file: its path relative to the root, `/`-separated.
pub(super) fn rel_key(file: &Selected) -> String {
    crate::util::platform::slash_path_lossy(&file.rel)
}

pub(super) fn plan(
    state: &crate::site::state::State,
    renderer: &Renderer,
    file: Selected,
) -> Result<Plan, (Selected, Error)> {
    let current = match fs::read(&file.path) {
        Ok(c) => c,
        Err(e) => {
            let err = Error::io("read", &file.path, e);
            return Err((file, err));
        }
    };
    let found = state.template_for(&rel_key(&file), &current);
    let rendered = renderer.render(&found.template);
    let changed = rendered.bytes != current;
    Ok(Plan {
        file,
        found,
        rendered,
        changed,
    })
}

pub(super) fn failed_outcome(file: &Selected, error: &Error) -> FileOutcome {
    FileOutcome {
        path: rel_key(file),
        replacements: 0,
        slashes_consumed: 0,
        changed: false,
        template: Origin::New,
        siblings: Vec::new(),
        siblings_ms: 0,
        remaining: 0,
        error: Some(error.to_string()),
    }
}

/// Writes planned files.
pub(super) struct Writer<'a> {
    pub(super) cfg: &'a RewriteConfig,
    pub(super) write: WriteOptions,
}

impl Writer<'_> {
    /// Write one planned file: its existing siblings, then the file; its outcome and warnings.
    pub(super) fn write(&self, p: &Plan, renderer: &Renderer) -> (FileOutcome, Vec<String>) {
        let mut warnings = Vec::new();
        let mut out = FileOutcome {
            path: rel_key(&p.file),
            replacements: p.rendered.at.len(),
            slashes_consumed: p.rendered.slash.len(),
            changed: p.changed,
            template: p.found.origin,
            siblings: Vec::new(),
            siblings_ms: 0,
            remaining: renderer.count(&p.rendered.bytes),
            error: None,
        };
        if p.found.origin == Origin::Adopted {
            warnings.push(format!(
                "{}: changed since the last rewrite (a new deploy?): its current content is the new template",
                out.path
            ));
        }
        if !p.changed {
            return (out, warnings);
        }
        let siblings = siblings::existing(&p.file.path);
        if self.cfg.dry_run {
            out.siblings = siblings.iter().map(|(_, s)| siblings::name(s)).collect();
            return (out, warnings);
        }
        let started = Instant::now();
        let result = self
            .write_siblings(&siblings, &p.rendered.bytes, &mut out, &mut warnings)
            .and_then(|()| {
                out.siblings_ms = started.elapsed().as_millis() as u64;
                // The file itself last: it is the commit point a re-run looks at.
                atomic::replace(&p.file.path, &p.rendered.bytes, self.write)
            });
        match result {
            Ok(w) => warnings.extend(w),
            Err(e) => out.error = Some(e.to_string()),
        }
        (out, warnings)
    }

    fn write_siblings(
        &self,
        siblings: &[(Sibling, PathBuf)],
        content: &[u8],
        out: &mut FileOutcome,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let levels = (self.cfg.gzip_level, self.cfg.brotli_quality);
        let (names, w) = siblings::regenerate(siblings, content, levels, self.write)?;
        warnings.extend(w);
        out.siblings.extend(names);
        Ok(())
    }
}
