//! Release notes and changelogs from git history. `notes` writes the notes of one release
//! (the body the `release` command publishes); `changelog` writes every release at once
//! from a single pass over history.

pub mod changelog;
pub mod notes;

pub use notes::{notes_for_tag, Notes, NotesError, NotesRequest};
