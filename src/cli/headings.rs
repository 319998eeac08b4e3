//! The help headings options are grouped under.

/// Help heading: what a command works on (publish, build).
pub const WHAT: &str = "What to publish";
/// Help heading: targets and how to reach them.
pub const WHERE: &str = "Where";
/// Help heading: the CDN stages.
pub const CDN: &str = "CDN";
/// Help heading: what is printed and written about the run.
pub const OUTPUT: &str = "Output";
/// Help heading: the configuration file and profile.
pub const CONFIGURATION: &str = "Configuration";
