//! History read in process with gitoxide (`gix`): tags, plain revisions, and the commits
//! of a set of revisions, with no `git` subprocess and no text to parse. The walk is git's
//! own, so the same commits come out in the same order as `git log`: newest committer date
//! first, equal dates in the order they were queued, and a range's excluded side walked only
//! while it can still hide a commit (git's `limit_list`, with its five commits of slop for
//! clocks that disagree).
//!
//! What this does not read (a SHA-256 repository, a revision expression such as `HEAD~3`, a
//! missing object) returns None, and the caller asks the `git` CLI instead.

use super::log::{seconds, Arena, Log, Raw};
use super::packs::{Inflater, Packs};
use super::TagRef;
use gix::objs::{CommitRef, Kind, TagRef as TagObject};
use gix::prelude::FindExt;
use gix::ObjectId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

/// Shareable across threads; each call takes a thread-local handle (its own caches).
pub(crate) struct History {
    repo: gix::ThreadSafeRepository,
    /// The pack files, opened on the first read.
    packs: std::sync::OnceLock<Option<Packs>>,
}

impl History {
    /// The repository containing `root`, when gitoxide can read it.
    pub(crate) fn open(root: &Path) -> Option<History> {
        // As git finds it: upwards from `root`, honouring GIT_DIR and the like.
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(root).ok()?;
        let local = repo.to_thread_local();
        if local.object_hash() != gix::hash::Kind::Sha1 || rewrites_history(&local) {
            return None;
        }
        Some(History {
            repo,
            packs: std::sync::OnceLock::new(),
        })
    }

    /// A reader for this thread.
    fn reader(&self) -> Reader<'_> {
        let repo = self.repo.to_thread_local();
        let packs = self
            .packs
            .get_or_init(|| Packs::open(repo.objects.store_ref().path()))
            .as_ref();
        Reader {
            repo,
            packs,
            inflater: Inflater::default(),
            buf: Vec::with_capacity(4096),
        }
    }

    pub(crate) fn is_shallow(&self) -> Option<bool> {
        self.repo.to_thread_local().is_shallow().ok()
    }

    /// Every tag that names a commit (through any number of tag objects), with its kind and
    /// date: the outermost tagger's for an annotated tag, the commit's for a lightweight one
    /// (git's `creatordate`). Sorted by name, as `git for-each-ref` lists them.
    pub(crate) fn tags(&self) -> Option<Vec<TagRef>> {
        let repo = self.repo.to_thread_local();
        let platform = repo.references().ok()?;
        let mut refs = Vec::new();
        for r in platform.tags().ok()? {
            let r = r.ok()?;
            // A symbolic ref under refs/tags is skipped: git lists its target's name.
            if let Some(id) = r.target().try_id() {
                refs.push((r.name().shorten().to_string(), id.to_owned()));
            }
        }
        let peel_all = |refs: &[(String, ObjectId)]| -> Option<Vec<TagRef>> {
            let mut reader = self.reader();
            let mut out = Vec::with_capacity(refs.len());
            for (name, id) in refs {
                // A tag of a tree or a blob releases nothing.
                let Some(p) = peel(&mut reader, *id)? else {
                    continue;
                };
                out.push(TagRef {
                    name: name.clone(),
                    target: p.commit.to_string(),
                    annotated: p.tagger.is_some(),
                    date: p.tagger.flatten().unwrap_or(p.committed),
                });
            }
            Some(out)
        };
        // Each tag is an object or two to inflate: hundreds are worth every core.
        let cores = cores();
        let mut out = if cores > 1 && refs.len() >= 64 {
            let share = refs.len().div_ceil(cores);
            std::thread::scope(|s| {
                let peel_all = &peel_all;
                let handles: Vec<_> = refs
                    .chunks(share)
                    .map(|part| s.spawn(move || peel_all(part)))
                    .collect();
                let mut out = Vec::with_capacity(refs.len());
                for h in handles {
                    out.extend(h.join().ok()??);
                }
                Some(out)
            })?
        } else {
            peel_all(&refs)?
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Some(out)
    }

    /// The commit `rev` names: a full SHA, `HEAD`, or a ref name (`v1.2.0`, `main`,
    /// `origin/main`, `refs/tags/x`). Outer None: not a form read here (ask git); inner None:
    /// it names no commit.
    pub(crate) fn resolve(&self, rev: &str) -> Option<Option<ObjectId>> {
        let mut reader = self.reader();
        let mut commit_of = |id| Some(peel(&mut reader, id)?.map(|p| p.commit));
        if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return commit_of(ObjectId::from_hex(rev.as_bytes()).ok()?);
        }
        let plain = !rev.is_empty()
            && !rev.starts_with('-')
            && !rev.contains(['~', '^', ':', '@', '{', ' ', '\\', '*', '?', '['])
            && !rev.contains("..");
        if !plain {
            return None;
        }
        let found = match self.repo.to_thread_local().try_find_reference(rev) {
            Ok(Some(mut r)) => Ok(r.peel_to_id().ok().map(|id| id.detach())),
            Ok(None) => Err(()),
            Err(_) => return None,
        };
        match found {
            Ok(id) => commit_of(id?),
            // Perhaps an abbreviated SHA, which git resolves.
            Err(()) if rev.bytes().all(|b| b.is_ascii_hexdigit()) => None,
            Err(()) => Some(None),
        }
    }

    /// Everything reachable from `tips`, read on every core, when there are tips enough to
    /// keep the cores busy (a changelog: every tag). The commits between two tags are a
    /// chain of their own, so two threads rarely wait for each other. None: one core, few
    /// tips, or an object that cannot be read (the walk then reads, and fails, itself).
    fn read_all(&self, tips: &[ObjectId]) -> Option<Prefetched> {
        let cores = cores();
        if cores < 2 || tips.len() < 8 {
            return None;
        }
        struct Shared {
            todo: Vec<ObjectId>,
            seen: gix::hashtable::HashSet<ObjectId>,
            active: usize,
            failed: bool,
        }
        let shared = std::sync::Mutex::new(Shared {
            todo: tips.iter().rev().copied().collect(),
            seen: tips.iter().copied().collect(),
            active: 0,
            failed: false,
        });
        let wake = std::sync::Condvar::new();
        let worker = |arena_ix: u32| -> Option<(Vec<(ObjectId, Read)>, Arena)> {
            let mut reader = self.reader();
            let mut arena = Arena::large();
            let mut mine = Vec::new();
            loop {
                let id = {
                    let mut g = shared.lock().ok()?;
                    loop {
                        if g.failed {
                            return None;
                        }
                        if let Some(id) = g.todo.pop() {
                            g.active += 1;
                            break id;
                        }
                        if g.active == 0 {
                            return Some((mine, arena));
                        }
                        g = wake.wait(g).ok()?;
                    }
                };
                let r = read(&mut reader, &mut arena, arena_ix, &id);
                let mut g = shared.lock().ok()?;
                g.active -= 1;
                let Some(r) = r else {
                    g.failed = true;
                    wake.notify_all();
                    return None;
                };
                // First parent last: it is taken next, so a thread follows one line.
                let before = g.todo.len();
                for p in arena.parents_of(&r.raw).iter().rev() {
                    if g.seen.insert(*p) {
                        g.todo.push(*p);
                    }
                }
                if g.todo.len() > before + 1 || (g.active == 0 && g.todo.is_empty()) {
                    wake.notify_all();
                }
                drop(g);
                mine.push((id, r));
            }
        };
        std::thread::scope(|s| {
            let worker = &worker;
            // Arena 0 is the walk's own.
            let handles: Vec<_> = (1..=cores as u32)
                .map(|i| s.spawn(move || worker(i)))
                .collect();
            let mut reads = gix::hashtable::HashMap::default();
            let mut arenas = Vec::new();
            for h in handles {
                let (mine, arena) = h.join().ok()??;
                reads.extend(mine);
                arenas.push(arena);
            }
            Some(Prefetched { reads, arenas })
        })
    }

    /// The commits reachable from `include` and not from `exclude`, in `git log` order, each
    /// built when asked for. None when a commit cannot be read (the caller asks git, which
    /// says why).
    pub(crate) fn walk(&self, include: &[ObjectId], exclude: &[ObjectId]) -> Option<Log> {
        let mut walk = Walk::new(self.reader());
        // git queues the excluded side of `A..B` first.
        for id in exclude {
            walk.add_tip(*id, UNINTERESTING)?;
        }
        if exclude.is_empty() {
            if let Some(p) = self.read_all(include) {
                walk.ready = p.reads;
                walk.arenas.extend(p.arenas);
            }
        }
        for id in include {
            walk.add_tip(*id, 0)?;
        }
        let order = if exclude.is_empty() {
            walk.unlimited()?
        } else {
            walk.limited()?
        };
        Some(walk.into_log(order))
    }
}

/// Threads worth starting for a read: the cores, up to four.
fn cores() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
}

/// Commits the walk takes beyond the point where only excluded ones remain, in case a
/// commit's clock was behind (git's `SLOP`).
const SLOP: u32 = 5;

const SEEN: u8 = 1;
const UNINTERESTING: u8 = 2;
const QUEUED: u8 = 4;

/// A commit of the walk. Flags can be set before it is read (git marks parents it has not
/// parsed yet), so a node exists from the first mention of its id.
struct Node {
    id: ObjectId,
    parsed: bool,
    /// `Walk::links[parents.0..parents.1]`.
    parents: (u32, u32),
    committed: i64,
    flags: u8,
    raw: Option<Raw>,
}

struct Walk<'h> {
    reader: Reader<'h>,
    nodes: Vec<Node>,
    /// Object ids are uniformly random: the table hashes their first bytes, no SipHash.
    index: gix::hashtable::HashMap<ObjectId, usize>,
    /// (committer date, insertion order reversed, node): the newest pops first, and of
    /// equal dates the one queued first.
    queue: BinaryHeap<(i64, Reverse<u64>, usize)>,
    seq: u64,
    /// A queued node known to be interesting, so "is every queued commit excluded?" is
    /// rarely a scan (git's `interesting_cache`).
    interesting_cache: Option<usize>,
    /// Parent links of every node, end to end.
    links: Vec<usize>,
    /// Commits read ahead of the walk ([`History::read_all`]).
    ready: gix::hashtable::HashMap<ObjectId, Read>,
    /// Where the raw commits are: the walk's own first, then [`History::read_all`]'s.
    arenas: Vec<Arena>,
}

/// What [`History::read_all`] read.
struct Prefetched {
    reads: gix::hashtable::HashMap<ObjectId, Read>,
    arenas: Vec<Arena>,
}

impl<'h> Walk<'h> {
    fn new(reader: Reader<'h>) -> Self {
        Walk {
            reader,
            nodes: Vec::new(),
            index: gix::hashtable::HashMap::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            interesting_cache: None,
            links: Vec::new(),
            ready: gix::hashtable::HashMap::default(),
            arenas: vec![Arena::default()],
        }
    }

    fn id(&mut self, id: ObjectId) -> usize {
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            id,
            parsed: false,
            parents: (0, 0),
            committed: 0,
            flags: 0,
            raw: None,
        });
        self.index.insert(id, i);
        i
    }

    /// Read the commit of node `i` (once): its parents, its date, where it is.
    fn parse(&mut self, i: usize, id: ObjectId) -> Option<()> {
        if self.nodes[i].parsed {
            return Some(());
        }
        let read = match self.ready.remove(&id) {
            Some(r) => r,
            None => read(&mut self.reader, &mut self.arenas[0], 0, &id)?,
        };
        let start = self.links.len();
        for k in 0..read.raw.parents.1 as usize {
            let p = self.arenas[read.raw.arena as usize].parents[read.raw.parents.0 as usize + k];
            let node = self.id(p);
            self.links.push(node);
        }
        let n = &mut self.nodes[i];
        n.parsed = true;
        n.parents = (start as u32, self.links.len() as u32);
        n.committed = read.committed;
        n.raw = Some(read.raw);
        Some(())
    }

    fn parents(&self, i: usize) -> std::ops::Range<usize> {
        let (a, b) = self.nodes[i].parents;
        a as usize..b as usize
    }

    /// The interesting commits of `order` as a [`Log`], parents linked by position.
    fn into_log(self, order: Vec<usize>) -> Log {
        let Walk {
            nodes,
            links,
            arenas,
            ..
        } = self;
        let order: Vec<usize> = order
            .into_iter()
            .filter(|&i| nodes[i].flags & UNINTERESTING == 0)
            .collect();
        let mut position = vec![u32::MAX; nodes.len()];
        for (at, &i) in order.iter().enumerate() {
            position[i] = at as u32;
        }
        let ids = order.iter().map(|&i| nodes[i].id).collect();
        let raw = order
            .iter()
            .map(|&i| nodes[i].raw.expect("walked commits are read"))
            .collect();
        let (nodes, links, position) = (&nodes, &links, &position);
        let parents = order.iter().map(move |&i| {
            let (a, b) = nodes[i].parents;
            links[a as usize..b as usize]
                .iter()
                .map(move |&p| position[p])
                .filter(|&p| p != u32::MAX)
        });
        Log::from_raw(ids, parents, arenas, raw)
    }

    fn push(&mut self, i: usize) {
        self.seq += 1;
        self.nodes[i].flags |= QUEUED;
        self.queue
            .push((self.nodes[i].committed, Reverse(self.seq), i));
    }

    fn pop(&mut self) -> Option<usize> {
        let (_, _, i) = self.queue.pop()?;
        self.nodes[i].flags &= !QUEUED;
        if self.interesting_cache == Some(i) {
            self.interesting_cache = None;
        }
        Some(i)
    }

    fn add_tip(&mut self, id: ObjectId, flags: u8) -> Option<()> {
        let i = self.id(id);
        self.parse(i, id)?;
        self.nodes[i].flags |= flags;
        if self.nodes[i].flags & SEEN == 0 {
            self.nodes[i].flags |= SEEN;
            self.push(i);
        }
        Some(())
    }

    /// git's `process_parents`: queue the parents not seen yet; an excluded commit makes its
    /// parents excluded too.
    fn process_parents(&mut self, i: usize) -> Option<()> {
        let excluded = self.nodes[i].flags & UNINTERESTING != 0;
        for k in self.parents(i) {
            let p = self.links[k];
            if excluded {
                self.nodes[p].flags |= UNINTERESTING;
            }
            let id = self.nodes[p].id;
            self.parse(p, id)?;
            if excluded {
                self.mark_parents_uninteresting(p);
            }
            if self.nodes[p].flags & SEEN == 0 {
                self.nodes[p].flags |= SEEN;
                self.push(p);
            }
        }
        Some(())
    }

    /// Exclude everything already read below `i` (what is not read yet is excluded when it
    /// is reached through an excluded commit).
    fn mark_parents_uninteresting(&mut self, i: usize) {
        let mut stack: Vec<usize> = self.links[self.parents(i)].to_vec();
        while let Some(p) = stack.pop() {
            if self.nodes[p].flags & UNINTERESTING != 0 {
                continue;
            }
            self.nodes[p].flags |= UNINTERESTING;
            stack.extend_from_slice(&self.links[self.parents(p)]);
        }
    }

    /// Is every queued commit excluded?
    fn everybody_uninteresting(&mut self) -> bool {
        if let Some(c) = self.interesting_cache {
            if self.nodes[c].flags & (UNINTERESTING | QUEUED) == QUEUED {
                return false;
            }
        }
        let found = self
            .queue
            .iter()
            .map(|&(_, _, i)| i)
            .find(|&i| self.nodes[i].flags & UNINTERESTING == 0);
        self.interesting_cache = found;
        found.is_none()
    }

    /// No excluded side: every commit in the order it pops.
    fn unlimited(&mut self) -> Option<Vec<usize>> {
        let mut order = Vec::new();
        while let Some(i) = self.pop() {
            self.process_parents(i)?;
            order.push(i);
        }
        Some(order)
    }

    /// git's `limit_list`: walk both sides by date until only excluded commits are queued
    /// (and SLOP more), keeping the interesting ones in pop order.
    fn limited(&mut self) -> Option<Vec<usize>> {
        let mut order = Vec::new();
        let mut slop = SLOP;
        let mut date = i64::MAX;
        while let Some(i) = self.pop() {
            self.process_parents(i)?;
            if self.nodes[i].flags & UNINTERESTING != 0 {
                self.mark_parents_uninteresting(i);
                slop = self.still_interesting(date, slop);
                if slop > 0 {
                    continue;
                }
                break;
            }
            date = self.nodes[i].committed;
            order.push(i);
        }
        Some(order)
    }

    fn still_interesting(&mut self, date: i64, slop: u32) -> u32 {
        let Some(&(newest, _, _)) = self.queue.peek() else {
            return 0;
        };
        if date <= newest || !self.everybody_uninteresting() {
            return SLOP;
        }
        slop - 1
    }
}

/// What a chain of tag objects ends in.
struct Peeled {
    commit: ObjectId,
    /// Some for an annotated tag: the outermost tagger's date (None when it has no tagger).
    tagger: Option<Option<i64>>,
    /// The commit's committer date.
    committed: i64,
}

/// Follow tag objects from `id` to the commit they name. Inner None: they name a tree or a
/// blob; outer None: an object that cannot be read (git is asked instead).
fn peel(reader: &mut Reader, mut id: ObjectId) -> Option<Option<Peeled>> {
    let mut tagger = None;
    for _ in 0..32 {
        let (kind, data) = reader.object(&id)?;
        match kind {
            Kind::Tag => {
                let tag = TagObject::from_bytes(data, gix::hash::Kind::Sha1).ok()?;
                tagger.get_or_insert(tag.tagger.map(seconds));
                id = tag.target();
            }
            Kind::Commit => {
                let c = CommitRef::from_bytes(data, gix::hash::Kind::Sha1).ok()?;
                return Some(Some(Peeled {
                    commit: id,
                    tagger,
                    committed: seconds(c.committer),
                }));
            }
            _ => return Some(None),
        }
    }
    None
}

/// What the walk needs of one commit object: its date, and where it and its parents' ids
/// were kept.
#[derive(Clone, Copy)]
struct Read {
    committed: i64,
    raw: Raw,
}

/// Read commit `id` into `arena` (number `arena_ix`). None: not a commit, or unreadable.
fn read(reader: &mut Reader, arena: &mut Arena, arena_ix: u32, id: &ObjectId) -> Option<Read> {
    let start = arena.bytes.len();
    let read = read_at(reader, arena, arena_ix, id, start);
    if read.is_none() {
        arena.bytes.truncate(start);
    }
    read
}

fn read_at(
    reader: &mut Reader,
    arena: &mut Arena,
    arena_ix: u32,
    id: &ObjectId,
    start: usize,
) -> Option<Read> {
    if reader.append(id, &mut arena.bytes)? != Kind::Commit {
        return None;
    }
    // Parsed whole once, here: the commit is built later from what this finds.
    let c = CommitRef::from_bytes(&arena.bytes[start..], gix::hash::Kind::Sha1).ok()?;
    let raw = Arena::keep(&arena.bytes, &mut arena.parents, arena_ix, start, &c)?;
    Some(Read {
        committed: seconds(c.committer),
        raw,
    })
}

/// Reads objects for one thread: straight from the packs when they hold the object whole,
/// else through the object store (loose objects, deltas, alternates).
struct Reader<'h> {
    repo: gix::Repository,
    packs: Option<&'h Packs>,
    inflater: Inflater,
    buf: Vec<u8>,
}

impl Reader<'_> {
    fn object(&mut self, id: &gix::oid) -> Option<(Kind, &[u8])> {
        let packed = self.packs.and_then(|p| {
            p.find(id, &mut self.inflater, &mut self.buf)
                .map(|(kind, data)| (kind, data.len()))
        });
        if let Some((kind, len)) = packed {
            return Some((kind, &self.buf[..len]));
        }
        let data = self.repo.objects.find(id, &mut self.buf).ok()?;
        Some((data.kind, data.data))
    }

    /// [`Reader::object`], appended to `out`: straight from the pack into it when it can.
    fn append(&mut self, id: &gix::oid, out: &mut Vec<u8>) -> Option<Kind> {
        if let Some(kind) = self
            .packs
            .and_then(|p| p.append(id, &mut self.inflater, out))
        {
            return Some(kind);
        }
        let data = self.repo.objects.find(id, &mut self.buf).ok()?;
        out.extend_from_slice(data.data);
        Some(data.kind)
    }
}

/// Replace refs or grafts: `git log` shows the history they rewrite, which this reader does
/// not apply, so such a repository is read by git.
fn rewrites_history(repo: &gix::Repository) -> bool {
    let replaced = repo
        .references()
        .ok()
        .and_then(|r| {
            r.prefixed("refs/replace/")
                .ok()
                .map(|mut i| i.next().is_some())
        })
        .unwrap_or(true);
    replaced || repo.git_dir().join("info/grafts").exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testrepo::Repo;
    use crate::git::Git;

    /// The same answers as the `git` CLI (which `Repo`'s own `Git` uses) for every range of a
    /// history with merges, equal dates, a clock that runs backwards, annotated and
    /// lightweight tags, a tag of a tag, a tag of a tree, and messages git would reshape.
    #[test]
    fn the_walk_and_the_tags_are_gits() {
        let r = Repo::new();
        r.commit("feat: one\n\nbody\n\nSigned-off-by: A <a@x>");
        r.annotated("v0.1.0");
        r.commit("fix: two\nwrapped subject line\n\n\n  indented body  \n");
        r.sh(&["checkout", "-q", "-b", "side"]);
        r.commit("feat(side): three");
        // A commit whose date is older than its parent's (a skewed clock).
        r.sh(&[
            "-c",
            "core.hooksPath=/dev/null",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "skewed",
            "--date",
            "@1600000000",
        ]);
        r.tag("side-tip");
        r.sh(&["checkout", "-q", "main"]);
        r.commit("docs: four");
        r.merge("side", "Merge branch 'side'");
        r.tag("v0.2.0");
        r.sh(&["tag", "-a", "v0.2.0-outer", "-m", "outer", "v0.2.0"]);
        let tree = r.sh(&["rev-parse", "HEAD^{tree}"]);
        r.sh(&["tag", "tree-tag", &tree]);
        r.commit("\n\nchore: leading blank lines");
        r.commit("same second A");
        r.commit("same second B");
        let h = History::open(r.path()).expect("gix opens it");
        assert_eq!(h.tags().expect("tags"), r.git.tags().unwrap());
        let revs: Vec<Vec<String>> = vec![
            vec!["HEAD".into()],
            vec!["v0.1.0..v0.2.0".into()],
            vec!["v0.1.0..HEAD".into()],
            vec!["side-tip..HEAD".into()],
            vec!["v0.2.0..side-tip".into()],
            vec!["HEAD".into(), "^side-tip".into()],
            vec!["v0.1.0".into(), "side-tip".into(), "HEAD".into()],
        ];
        let opened = Git::open(r.path()).unwrap();
        assert!(opened.history.is_some(), "Git::open reads in process");
        for rv in revs {
            let cli = r.git.log_revs(&rv, false).unwrap();
            let ours = opened.log_revs(&rv, false).unwrap();
            assert_eq!(ours, cli, "{rv:?}");
        }
        for rev in [
            "HEAD",
            "v0.2.0",
            "v0.2.0-outer",
            "side",
            "refs/tags/v0.1.0",
            "nope",
        ] {
            assert_eq!(
                opened.resolve(rev).unwrap(),
                r.git.resolve(rev).unwrap(),
                "{rev}"
            );
        }
        // Forms left to git: still answered, through the CLI.
        assert_eq!(h.resolve("HEAD~1"), None);
        assert_eq!(
            opened.resolve("HEAD~1").unwrap(),
            r.git.resolve("HEAD~1").unwrap()
        );
    }

    /// Many tips (a changelog): the commits are read on every core first, and the walk
    /// over them still gives git's order: the same commits, linked to the same parents,
    /// built into the same commits.
    #[test]
    fn many_tips_read_in_parallel_walk_in_gits_order() {
        let r = Repo::new();
        let mut revs = Vec::new();
        for i in 0..40 {
            r.commit(&format!(
                "feat: main {i}\nsecond subject line\n\nbody {i}\n\nCo-authored-by: C <c@x>"
            ));
            if i % 3 == 0 {
                r.tag(&format!("v0.{i}.0"));
                revs.push(format!("v0.{i}.0"));
            }
            if i == 20 {
                r.sh(&["checkout", "-q", "-b", "maint"]);
                r.commit("fix: on maint");
                r.annotated("v0.20.1");
                revs.push("v0.20.1".into());
                r.sh(&["checkout", "-q", "main"]);
            }
        }
        r.merge("maint", "Merge maint");
        revs.push("HEAD".into());
        let opened = Git::open(r.path()).unwrap();
        let h = opened.history.as_ref().unwrap();
        let ids: Vec<ObjectId> = revs
            .iter()
            .map(|v| h.resolve(v).unwrap().unwrap())
            .collect();
        assert!(
            h.read_all(&ids).is_some_and(|m| m.reads.len() == 42)
                || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2
        );
        assert_eq!(
            opened.log_revs(&revs, false).unwrap(),
            r.git.log_revs(&revs, false).unwrap()
        );
        let ours = opened.walk_revs(&revs).unwrap();
        let cli = Log::from_commits(r.git.log_revs(&revs, false).unwrap());
        assert_eq!((ours.len(), cli.len()), (42, 42));
        for i in 0..ours.len() {
            assert_eq!(ours.id(i), cli.id(i), "{i}");
            assert_eq!(ours.parents(i), cli.parents(i), "{i}");
            assert_eq!(ours.commit(i), cli.commit(i), "{i}");
        }
        assert_eq!(ours.parents(0).len(), 2, "the merge links both parents");
    }

    #[test]
    fn a_replaced_history_is_left_to_git() {
        let r = Repo::new();
        let a = r.commit("feat: a");
        let b = r.commit("feat: b");
        assert!(Git::open(r.path()).unwrap().history.is_some());
        r.sh(&["replace", &b, &a]);
        let opened = Git::open(r.path()).unwrap();
        assert!(opened.history.is_none(), "replace refs: git reads it");
        let head = vec!["HEAD".to_string()];
        assert_eq!(
            opened.log_revs(&head, false).unwrap(),
            r.git.log_revs(&head, false).unwrap()
        );
    }

    #[test]
    fn a_range_walks_only_as_far_as_it_must() {
        let r = Repo::new();
        for i in 0..200 {
            r.commit(&format!("fix: {i}"));
            if i == 190 {
                r.tag("v1.0.0");
            }
        }
        let opened = Git::open(r.path()).unwrap();
        let h = opened.history.as_ref().unwrap();
        let head = h.resolve("HEAD").unwrap().unwrap();
        let base = h.resolve("v1.0.0").unwrap().unwrap();
        let mut walk = Walk::new(h.reader());
        walk.add_tip(base, UNINTERESTING).unwrap();
        walk.add_tip(head, 0).unwrap();
        assert_eq!(walk.limited().unwrap().len(), 9);
        // 9 interesting + the excluded tip + SLOP commits below it, give or take one.
        assert!(
            walk.nodes.len() <= 9 + 1 + SLOP as usize + 2,
            "{}",
            walk.nodes.len()
        );
    }
}
