//! Commit and tag objects read straight from the repository's pack files: the pack index
//! finds the entry, sirocco inflates it. This skips the general object store (its handle,
//! caches and delta machinery), which cost as much as the inflating itself when a changelog
//! reads every commit of the history once. Anything this does not read — a loose object, a
//! delta, an object in an alternate — is left to the caller, who asks the object store.

use gix::objs::Kind;
use gix::odb::pack::data::entry::Header;
use gix::odb::pack::Bundle;
use gix::oid;
use std::path::Path;

/// More packs than this and the store's multi-pack lookups win; a repository that has not
/// been repacked is read through the store.
const MAX_PACKS: usize = 16;

pub(crate) struct Packs {
    bundles: Vec<Bundle>,
}

impl Packs {
    /// The packs of `objects` (a repository's object directory). None when it has none, too
    /// many, or one that cannot be opened.
    pub(crate) fn open(objects: &Path) -> Option<Packs> {
        let mut bundles = Vec::new();
        for entry in std::fs::read_dir(objects.join("pack")).ok()? {
            let path = entry.ok()?.path();
            if path.extension().is_some_and(|e| e == "idx") {
                bundles.push(Bundle::at(&path, gix::hash::Kind::Sha1).ok()?);
                if bundles.len() > MAX_PACKS {
                    return None;
                }
            }
        }
        // Newest first would be the store's preference; with whole objects any pack's copy
        // is the same object, so the order only decides which is searched first: the biggest.
        bundles.sort_by_key(|b| std::cmp::Reverse(b.index.num_objects()));
        (!bundles.is_empty()).then_some(Packs { bundles })
    }

    /// Object `id` when a pack holds it whole: its kind and its bytes, inflated into `buf`.
    /// None: not in a pack, stored as a delta, or unreadable here.
    pub(crate) fn find<'b>(
        &self,
        id: &oid,
        inflater: &mut Inflater,
        buf: &'b mut Vec<u8>,
    ) -> Option<(Kind, &'b [u8])> {
        let (kind, size) = self.inflate_at(id, inflater, buf, 0)?;
        Some((kind, &buf[..size]))
    }

    /// [`Packs::find`], appending the object's bytes to `out` (left as it was when None).
    pub(crate) fn append(
        &self,
        id: &oid,
        inflater: &mut Inflater,
        out: &mut Vec<u8>,
    ) -> Option<Kind> {
        let at = out.len();
        match self.inflate_at(id, inflater, out, at) {
            Some((kind, size)) => {
                out.truncate(at + size);
                Some(kind)
            }
            None => {
                out.truncate(at);
                None
            }
        }
    }

    /// Object `id` inflated into `buf[at..at + size]` (`buf` may be left longer): kind, size.
    fn inflate_at(
        &self,
        id: &oid,
        inflater: &mut Inflater,
        buf: &mut Vec<u8>,
        at: usize,
    ) -> Option<(Kind, usize)> {
        let (bundle, index) = self
            .bundles
            .iter()
            .find_map(|b| Some((b, b.index.lookup(id)?)))?;
        let entry = bundle
            .pack
            .entry(bundle.index.pack_offset_at_index(index))
            .ok()?;
        let kind = match entry.header {
            Header::Commit => Kind::Commit,
            Header::Tag => Kind::Tag,
            Header::Tree => Kind::Tree,
            Header::Blob => Kind::Blob,
            Header::OfsDelta { .. } | Header::RefDelta { .. } => return None,
        };
        let size = usize::try_from(entry.decompressed_size).ok()?;
        let input = bundle
            .pack
            .entry_slice(entry.data_offset..bundle.pack.data_len() as u64)?;
        inflater.inflate(input, size, buf, at)?;
        Some((kind, size))
    }
}

/// A reusable zlib decoder (one per thread).
pub(crate) struct Inflater {
    decoder: sirocco::inflate::Decoder,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater {
            decoder: sirocco::inflate::Decoder::new(sirocco::Format::Zlib),
        }
    }
}

impl Inflater {
    /// The zlib stream at the start of `input`, inflated into `buf[at..at + size]`: it must
    /// come out at exactly `size` bytes with its checksum right (a pack entry says how long it
    /// inflates to).
    fn inflate(&mut self, input: &[u8], size: usize, buf: &mut Vec<u8>, at: usize) -> Option<()> {
        self.decoder.reset();
        // One byte of room more than the entry says: a stream that would run longer fills
        // it, and is refused instead of being cut short. The buffer only grows.
        let end = at + size + 1;
        if buf.len() < end {
            buf.resize(end, 0);
        }
        let progress = self
            .decoder
            .decompress(input, &mut buf[at..end], true)
            .ok()?;
        (progress.done && progress.output.len() == size).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::testrepo::Repo;
    use gix::prelude::FindExt;

    /// Every object a pack holds whole comes out as the object store gives it; a delta or a
    /// loose object is left to the store.
    #[test]
    fn packed_objects_are_the_stores_and_the_rest_is_left_to_it() {
        let r = Repo::new();
        for i in 0..30 {
            r.commit(&format!(
                "feat: {i}\n\nthe same long body, so that deltas pay {i}"
            ));
        }
        r.annotated("v1.0.0");
        // No deltas, then as many as git finds: each time one commit stays loose.
        for (repack, deltas) in [
            (&["-adq", "--window=0"][..], false),
            (&["-adfq", "--window=250", "--depth=50"][..], true),
        ] {
            let mut args = vec!["repack"];
            args.extend(repack);
            r.sh(&args);
            let loose = r.commit("fix: after the repack");
            let repo = gix::open(r.path()).unwrap();
            let packs = Packs::open(repo.objects.store_ref().path()).expect("one pack");
            let whole_in_pack = |id: &gix::ObjectId| {
                let b = &packs.bundles[0];
                b.index.lookup(id).is_some_and(|i| {
                    let entry = b.pack.entry(b.index.pack_offset_at_index(i)).unwrap();
                    !matches!(
                        entry.header,
                        Header::OfsDelta { .. } | Header::RefDelta { .. }
                    )
                })
            };
            let mut inflater = Inflater::default();
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let (mut found, mut left) = (0, 0);
            for line in r.sh(&["rev-list", "--objects", "--all"]).lines() {
                let id = gix::ObjectId::from_hex(&line.as_bytes()[..40]).unwrap();
                let store = repo.objects.find(&id, &mut theirs).unwrap();
                match packs.find(&id, &mut inflater, &mut ours) {
                    Some((kind, data)) => {
                        assert!(whole_in_pack(&id));
                        assert_eq!((kind, data), (store.kind, store.data), "{id}");
                        found += 1;
                    }
                    None => {
                        assert!(!whole_in_pack(&id), "{id} is in the pack whole");
                        left += 1;
                    }
                }
            }
            if deltas {
                assert!(found >= 2 && left > 1, "{found} found, {left} left");
            } else {
                assert_eq!(left, 1, "only the loose commit is left");
                assert!(found > 31, "{found}");
            }
            let loose = gix::ObjectId::from_hex(loose.as_bytes()).unwrap();
            assert_eq!(packs.find(&loose, &mut inflater, &mut ours), None);
            let mut appended = b"before".to_vec();
            assert_eq!(packs.append(&loose, &mut inflater, &mut appended), None);
            assert_eq!(appended, b"before", "a miss leaves the buffer as it was");
        }
    }

    #[test]
    fn a_stream_longer_or_shorter_than_its_entry_says_is_refused() {
        let data = b"tree 0000000000000000000000000000000000000000\n\nmessage\n";
        let z = sirocco::compress(
            sirocco::Format::Zlib,
            sirocco::deflate::Level::DEFAULT,
            data,
        );
        let mut inflater = Inflater::default();
        let mut out = b"kept".to_vec();
        assert_eq!(inflater.inflate(&z, data.len(), &mut out, 4), Some(()));
        assert_eq!(&out[..4 + data.len()], [&b"kept"[..], data].concat());
        assert!(inflater.inflate(&z, data.len() - 1, &mut out, 0).is_none());
        assert!(inflater.inflate(&z, data.len() + 1, &mut out, 0).is_none());
        // Cut off: no checksum, no object.
        assert!(inflater
            .inflate(&z[..z.len() - 2], data.len(), &mut out, 0)
            .is_none());
    }
}
