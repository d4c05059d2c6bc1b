//! The commits of a walk, in `git log` order, as they were read: each commit's id, its parent
//! links inside the walk, and its raw object. A [`Commit`] is built only when asked for, on
//! whichever thread asks — a changelog builds each release's commits on the core that writes
//! that release's notes, instead of building them all before the first note.

use super::{parse_trailers, Commit};
use gix::objs::CommitRef;
use gix::ObjectId;

/// Where a commit's raw object sits, `arenas[arena].bytes[start..start + len]`, and what the
/// reader found in it when it parsed it: the parents' ids
/// (`arenas[arena].parents[parents.0..][..parents.1]`), the author's signature and the message
/// (offsets into the object). Building the [`Commit`] later needs no second parse.
#[derive(Debug, Clone, Copy)]
pub(super) struct Raw {
    pub arena: u32,
    pub start: u32,
    pub len: u32,
    pub parents: (u32, u32),
    pub author: (u32, u32),
    pub message: u32,
}

/// Raw commit objects of one reader, end to end (one allocation for thousands of commits).
#[derive(Debug, Default)]
pub(super) struct Arena {
    pub bytes: Vec<u8>,
    /// The parents' ids of the commits read into it, end to end.
    pub parents: Vec<ObjectId>,
}

impl Arena {
    /// Room for a few thousand commits up front (a reader that reads a whole history).
    pub(crate) fn large() -> Arena {
        Arena {
            bytes: Vec::with_capacity(4 << 20),
            parents: Vec::with_capacity(8 << 10),
        }
    }

    /// Keep what the reader parsed (`c`) of the commit at `bytes[start..]` of arena number
    /// `arena`: its parents' ids (into `parents`, the arena's) and where its author and
    /// message are. None past 4 GiB of commits, or when the parsed parts are not inside the
    /// object (the caller asks git). Takes the arena's fields apart: `c` borrows its bytes.
    pub(crate) fn keep(
        bytes: &[u8],
        parents: &mut Vec<ObjectId>,
        arena: u32,
        start: usize,
        c: &CommitRef,
    ) -> Option<Raw> {
        let object = &bytes[start..];
        let within = |part: &[u8]| -> Option<u32> {
            let at = (part.as_ptr() as usize).checked_sub(object.as_ptr() as usize)?;
            (at + part.len() <= object.len()).then_some(u32::try_from(at).ok()?)
        };
        let author = (within(c.author)?, u32::try_from(c.author.len()).ok()?);
        let message = within(c.message)?;
        let len = u32::try_from(object.len()).ok()?;
        let first = u32::try_from(parents.len()).ok()?;
        for p in &c.parents {
            parents.push(ObjectId::from_hex(p).ok()?);
        }
        let start = u32::try_from(start).ok()?;
        start.checked_add(len)?;
        Some(Raw {
            arena,
            start,
            len,
            parents: (first, c.parents.len() as u32),
            author,
            message,
        })
    }

    pub(crate) fn parents_of(&self, r: &Raw) -> &[ObjectId] {
        &self.parents[r.parents.0 as usize..][..r.parents.1 as usize]
    }
}

#[derive(Debug)]
enum Source {
    /// Read in process: raw objects, parsed on demand.
    Raw { arenas: Vec<Arena>, raw: Vec<Raw> },
    /// Parsed by the `git` CLI already.
    Parsed(Vec<Commit>),
}

/// Commits newest first (git's order), with the links to their parents that are in the log.
#[derive(Debug)]
pub struct Log {
    ids: Vec<ObjectId>,
    /// Parents of commit i: `links[link_start[i]..link_start[i + 1]]`, as positions in the log.
    link_start: Vec<u32>,
    links: Vec<u32>,
    source: Source,
}

impl Log {
    /// From the walk: ids in order, each commit's parents as positions (those outside the log
    /// already dropped), and where each raw object is.
    pub(super) fn from_raw(
        ids: Vec<ObjectId>,
        parents: impl Iterator<Item = impl Iterator<Item = u32>>,
        arenas: Vec<Arena>,
        raw: Vec<Raw>,
    ) -> Log {
        let (link_start, links) = flatten(parents, ids.len());
        Log {
            ids,
            link_start,
            links,
            source: Source::Raw { arenas, raw },
        }
    }

    /// From commits `git log` printed, in its order.
    pub(crate) fn from_commits(commits: Vec<Commit>) -> Log {
        let ids: Vec<ObjectId> = commits
            .iter()
            .map(|c| {
                ObjectId::from_hex(c.sha.as_bytes())
                    .unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1))
            })
            .collect();
        let position: gix::hashtable::HashMap<ObjectId, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let position = &position;
        let parents = commits.iter().map(|c| {
            c.parents
                .iter()
                .filter_map(|p| ObjectId::from_hex(p.as_bytes()).ok())
                .filter_map(move |p| position.get(&p).copied())
        });
        let (link_start, links) = flatten(parents, ids.len());
        Log {
            ids,
            link_start,
            links,
            source: Source::Parsed(commits),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(crate) fn id(&self, i: usize) -> &ObjectId {
        &self.ids[i]
    }

    /// Positions of commit i's parents that are in the log.
    pub(crate) fn parents(&self, i: usize) -> &[u32] {
        &self.links[self.link_start[i] as usize..self.link_start[i + 1] as usize]
    }

    /// Commit i, built now (cheap to call from many threads at once).
    pub(crate) fn commit(&self, i: usize) -> Commit {
        match &self.source {
            Source::Raw { arenas, raw } => {
                let r = raw[i];
                let arena = &arenas[r.arena as usize];
                let object = &arena.bytes[r.start as usize..][..r.len as usize];
                let author = &object[r.author.0 as usize..][..r.author.1 as usize];
                let message = &object[r.message as usize..];
                to_commit(
                    &self.ids[i],
                    arena.parents_of(&r),
                    author.into(),
                    message.into(),
                )
            }
            Source::Parsed(commits) => commits[i].clone(),
        }
    }

    /// Every commit, in order.
    pub(crate) fn into_commits(self) -> Vec<Commit> {
        match self.source {
            Source::Parsed(commits) => commits,
            Source::Raw { .. } => (0..self.len()).map(|i| self.commit(i)).collect(),
        }
    }
}

fn flatten(
    parents: impl Iterator<Item = impl Iterator<Item = u32>>,
    n: usize,
) -> (Vec<u32>, Vec<u32>) {
    let mut link_start = Vec::with_capacity(n + 1);
    let mut links = Vec::with_capacity(n + n / 8);
    for ps in parents {
        link_start.push(links.len() as u32);
        links.extend(ps);
    }
    link_start.push(links.len() as u32);
    (link_start, links)
}

/// Unix seconds of a raw signature `Name <email> 1700000000 +0100` (0 when unreadable).
pub(super) fn seconds(raw: &gix::bstr::BStr) -> i64 {
    let raw: &[u8] = raw.as_ref();
    let after = raw
        .iter()
        .rposition(|&b| b == b'>')
        .map_or(raw, |i| &raw[i + 1..]);
    std::str::from_utf8(after)
        .ok()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Name and email of a raw signature, as git's `%an` / `%ae` print them.
fn name_email(raw: &gix::bstr::BStr) -> (String, String) {
    let raw = String::from_utf8_lossy(raw.as_ref());
    match (raw.find('<'), raw.rfind('>')) {
        (Some(lt), Some(gt)) if lt < gt => (
            raw[..lt].trim_end().to_string(),
            raw[lt + 1..gt].to_string(),
        ),
        _ => (raw.trim().to_string(), String::new()),
    }
}

/// The commit as `git log --format=%H%P%an%ae%at%s%b` gives it: the subject is the first
/// paragraph with its lines joined by spaces (git's `format_subject`), the body what follows
/// it after blank lines.
fn to_commit(
    id: &ObjectId,
    parents: &[ObjectId],
    author_raw: &gix::bstr::BStr,
    message: &gix::bstr::BStr,
) -> Commit {
    let message = String::from_utf8_lossy(message.as_ref());
    let mut subject = String::new();
    let mut rest = message.len();
    let mut offset = 0;
    let mut started = false;
    for line in message.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let text = line.trim_end();
        if text.trim_start().is_empty() {
            if started {
                rest = at;
                break;
            }
            continue; // blank lines before the subject
        }
        started = true;
        if !subject.is_empty() {
            subject.push(' ');
        }
        subject.push_str(text);
    }
    let body = message[rest..].trim().to_string();
    let (author, email) = name_email(author_raw);
    Commit {
        sha: id.to_string(),
        parents: parents.iter().map(ToString::to_string).collect(),
        author,
        email,
        date: seconds(author_raw),
        subject,
        trailers: parse_trailers(&body),
        body,
    }
}
