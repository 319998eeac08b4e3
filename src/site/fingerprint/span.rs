//! Where a reference sits in a file, and what it names: the types every reader of references
//! (HTML, CSS, JS, source maps, webpack's chunk maps) returns.

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
