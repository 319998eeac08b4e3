//! `cdnpub man`: man pages rendered from the clap definitions (the same text as `--help`).

use std::path::Path;

use crate::error::{Error, Result};

/// The page of the whole command line (`cdnpub.1`), as roff.
pub fn page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| Error::Failed(format!("rendering the man page: {e}")))?;
    Ok(out)
}

/// Write `cdnpub.1` and `cdnpub-COMMAND.1` for every command into `dir` (created when missing);
/// returns the files written.
pub fn write_all(cmd: &clap::Command, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let mut cmd = cmd.clone();
    cmd.build();
    let mut pages = vec![("cdnpub".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("cdnpub-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    let mut written = Vec::new();
    for (name, page_cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let bytes = page(&page_cmd)?;
        crate::util::atomic::replace(&path, &bytes, Default::default())?;
        written.push(path);
    }
    Ok(written)
}
