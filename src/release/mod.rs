//! Release notes and changelogs from git history, and the GitHub Release itself. `notes`
//! writes the notes of one release (the body the `release` command publishes); `changelog`
//! writes every release at once from a single pass over history; `assets` turns globs into
//! hashed files and writes `SHA256SUMS`; `publish` makes the one release of a tag.

pub mod assets;
pub mod changelog;
pub mod notes;
pub mod publish;

pub use notes::{notes_for_tag, Notes, NotesError, NotesRequest};
