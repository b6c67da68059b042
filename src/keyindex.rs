//! The validator's index of the keys it has met: exact, with memory bounded whatever the
//! file's length.
//!
//! Keys are 64-bit hashes (of a unique key, or of a consistent rule's key), each kept with what
//! its rule needs of the first record that had it: that record's line, and for a consistent
//! rule the hash of its value. The first [`TABLE_ENTRIES`] keys live in hash tables in memory,
//! so a file of a million records or so never touches the disk. When the tables are full their
//! keys are sorted and written as a run to a temporary file (deleted when the index is
//! dropped) and the tables start again. A key not in the tables is looked for in the runs only
//! when a Bloom filter of every key written to a run (fixed in size) says it may be there: a
//! binary search of the run's sparse index in memory, then one block read from the file.
//! Memory so stays near the tables and the filter, about 100 MB, however long the file; past
//! some 40 million keys the filter's false alarms make the index slower, never wrong.
//!
//! The runs hold hashes and line numbers only, never a field's value. Should the disk refuse
//! a run, the index keeps its keys in memory instead (and says so in the log): the result is
//! the same, only memory grows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

/// Keys held in memory before they are written to a run: just under the point where the
/// tables would grow to the next power of two (2^21 buckets).
pub const TABLE_ENTRIES: usize = (1 << 21) / 8 * 7;

/// Bits of the Bloom filter over the keys written to runs (32 MiB).
const BLOOM_BITS: u64 = 1 << 28;
/// Probes of the filter a key.
const BLOOM_PROBES: u64 = 7;
/// Entries of a run a sparse index entry stands for (one block read).
const BLOCK: usize = 256;
/// Bytes of a run entry: the key, then two words of its value.
const ENTRY: usize = 24;

/// Keys are already hashes: they are used as they are.
#[derive(Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A hash table keyed by hashes.
pub type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// The keys met so far, with their first record.
pub struct KeyIndex {
    /// Unique keys: the line of the first record.
    unique: HashKeyed<u64>,
    /// Consistent-rule keys: (the hash of the first record's value, its line).
    groups: HashKeyed<(u64, u64)>,
    /// Keys held in memory before a run is written.
    limit: usize,
    spill: Option<Spill>,
    /// The disk refused a run: everything stays in memory.
    in_memory: bool,
}

/// Runs written to a temporary file.
struct Spill {
    file: std::fs::File,
    end: u64,
    runs: Vec<Run>,
    bloom: Vec<u64>,
    block: Vec<u8>,
}

/// One sorted run of entries in the file.
struct Run {
    /// Byte offset of its first entry.
    start: u64,
    /// Entries.
    len: usize,
    /// The key of every [`BLOCK`]th entry.
    sparse: Vec<u64>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        Self::with_limit(TABLE_ENTRIES)
    }
}

impl KeyIndex {
    /// An index that writes a run every `limit` keys (tests use a small one).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            unique: HashKeyed::default(),
            groups: HashKeyed::default(),
            limit: limit.max(1),
            spill: None,
            in_memory: false,
        }
    }

    /// The line of the first record with unique key `key`; None (and `line` kept as its first)
    /// when it was not met before.
    pub fn unique(&mut self, key: u64, line: u64) -> Option<u64> {
        if let Some(&first) = self.unique.get(&key) {
            return Some(first);
        }
        if let Some([first, _]) = self.in_runs(key) {
            return Some(first);
        }
        self.unique.insert(key, line);
        self.after_insert();
        None
    }

    /// (the value hash, the line) of the first record with consistent-rule key `key`; None (and
    /// these kept as its first) when it was not met before.
    pub fn group(&mut self, key: u64, value: u64, line: u64) -> Option<(u64, u64)> {
        if let Some(&first) = self.groups.get(&key) {
            return Some(first);
        }
        if let Some([v, first]) = self.in_runs(key) {
            return Some((v, first));
        }
        self.groups.insert(key, (value, line));
        self.after_insert();
        None
    }

    /// Runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.spill.as_ref().map_or(0, |s| s.runs.len())
    }

    fn in_runs(&mut self, key: u64) -> Option<[u64; 2]> {
        let s = self.spill.as_mut()?;
        if !s.may_hold(key) {
            return None;
        }
        match s.find(key) {
            Ok(found) => found,
            Err(e) => {
                // A run cannot be read back: nothing can be said of this key. Should it ever
                // happen, the key counts as new (it was in the filter, so this is rare) and the
                // log says so.
                tracing::error!(error = %e, "could not read the key index's run");
                None
            }
        }
    }

    fn after_insert(&mut self) {
        if self.in_memory || self.unique.len() + self.groups.len() < self.limit {
            return;
        }
        if let Err(e) = self.write_run() {
            tracing::warn!(error = %e, "could not write the key index to disk: keeping it in memory");
            self.in_memory = true;
        }
    }

    /// Writes the tables' keys as one sorted run and empties them.
    fn write_run(&mut self) -> std::io::Result<()> {
        if self.spill.is_none() {
            self.spill = Some(Spill {
                file: tempfile::tempfile()?,
                end: 0,
                runs: Vec::new(),
                bloom: vec![0; (BLOOM_BITS / 64) as usize],
                block: Vec::with_capacity(BLOCK * ENTRY),
            });
        }
        let Some(s) = self.spill.as_mut() else {
            return Ok(());
        };
        let mut keys: Vec<u64> = self
            .unique
            .keys()
            .chain(self.groups.keys())
            .copied()
            .collect();
        keys.sort_unstable();
        s.file.seek(SeekFrom::Start(s.end))?;
        let mut w = BufWriter::with_capacity(1 << 16, &mut s.file);
        let mut sparse = Vec::with_capacity(keys.len() / BLOCK + 1);
        for (i, &k) in keys.iter().enumerate() {
            let [a, b] = match (self.unique.get(&k), self.groups.get(&k)) {
                (Some(&line), _) => [line, 0],
                (None, Some(&(v, line))) => [v, line],
                (None, None) => [0, 0],
            };
            w.write_all(&k.to_le_bytes())?;
            w.write_all(&a.to_le_bytes())?;
            w.write_all(&b.to_le_bytes())?;
            if i % BLOCK == 0 {
                sparse.push(k);
            }
        }
        w.flush()?;
        drop(w);
        for &k in &keys {
            for i in 0..BLOOM_PROBES {
                let bit = bloom_bit(k, i);
                s.bloom[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        s.runs.push(Run {
            start: s.end,
            len: keys.len(),
            sparse,
        });
        s.end += (keys.len() * ENTRY) as u64;
        self.unique.clear();
        self.groups.clear();
        Ok(())
    }
}

/// The filter bit of probe `i` of `key` (double hashing).
fn bloom_bit(key: u64, i: u64) -> u64 {
    let h2 = key.rotate_left(29).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    key.wrapping_add(i.wrapping_mul(h2)) % BLOOM_BITS
}

impl Spill {
    fn may_hold(&self, key: u64) -> bool {
        (0..BLOOM_PROBES).all(|i| {
            let bit = bloom_bit(key, i);
            self.bloom[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }

    fn find(&mut self, key: u64) -> std::io::Result<Option<[u64; 2]>> {
        for r in 0..self.runs.len() {
            let run = &self.runs[r];
            let at = run.sparse.partition_point(|&k| k <= key);
            if at == 0 {
                continue;
            }
            let first = (at - 1) * BLOCK;
            let n = BLOCK.min(run.len - first);
            self.block.resize(n * ENTRY, 0);
            self.file
                .seek(SeekFrom::Start(run.start + (first * ENTRY) as u64))?;
            self.file.read_exact(&mut self.block)?;
            let word = |e: &[u8], w: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&e[w * 8..w * 8 + 8]);
                u64::from_le_bytes(b)
            };
            let entries: Vec<&[u8]> = self.block.chunks_exact(ENTRY).collect();
            if let Ok(i) = entries.binary_search_by_key(&key, |e| word(e, 0)) {
                return Ok(Some([word(entries[i], 1), word(entries[i], 2)]));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// With runs on disk or not, the index answers as a plain map of first records does.
        #[test]
        fn answers_as_a_map_does(
            keys in prop::collection::vec((0u64..300, any::<bool>(), 0u64..3), 1..2000),
            limit in 1usize..400,
        ) {
            let mut index = KeyIndex::with_limit(limit);
            let mut unique: HashMap<u64, u64> = HashMap::new();
            let mut groups: HashMap<u64, (u64, u64)> = HashMap::new();
            for (line, &(k, is_group, v)) in keys.iter().enumerate() {
                let line = line as u64 + 1;
                // Spread the keys over the hash space as real hashes are.
                let key = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(is_group);
                if is_group {
                    let want = groups.get(&key).copied();
                    groups.entry(key).or_insert((v, line));
                    prop_assert_eq!(index.group(key, v, line), want);
                } else {
                    let want = unique.get(&key).copied();
                    unique.entry(key).or_insert(line);
                    prop_assert_eq!(index.unique(key, line), want);
                }
            }
            // Every `limit` new keys make a run.
            prop_assert_eq!(index.runs(), (unique.len() + groups.len()) / limit);
        }
    }
}
