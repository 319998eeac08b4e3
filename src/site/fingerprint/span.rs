//! Where a reference sits in a file, what it names, and what one file's analysis found: the
//! types every reader of references (HTML, CSS, JS, source maps, webpack's chunk maps) returns.

/// A byte range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The same span moved `by` bytes later.
    pub fn shift(self, by: usize) -> Span {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

/// A reference that names another asset of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Where the URL's path part is (no query or fragment).
    pub span: Span,
    /// The asset it names.
    pub target: usize,
    /// The span holds only the piece of a built name its stem ends with (a webpack chunk map's
    /// hash value): a new name's hash is appended to it.
    pub insert: bool,
}

/// What the analysis found in one asset.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    /// References to other assets, in file order.
    pub links: Vec<Link>,
    /// The `sourceMappingURL` comment, when it names a map of the tree.
    pub source_map: Option<Link>,
    /// Links found by a site path's longest suffix: the link's span start and the leading
    /// sub-path that was dropped (the deploy sub-path the reference assumes).
    pub guessed: Vec<(usize, String)>,
    /// Placeholder-prefixed or server URLs that name no file of the tree (path part only).
    pub unresolved: Vec<Span>,
}
