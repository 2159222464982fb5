//! A map keyed by ids the core hands out in increasing order (calls, requests): a vector
//! sorted by id, with holes where entries were removed.
//!
//! New ids are the largest, so an insert is a push; a lookup is a binary search; a
//! removal leaves a hole, and the holes are squeezed out once they outnumber the live
//! entries (amortised O(1), memory at most about twice the live entries). Iteration is
//! in id order, as with the `BTreeMap` it replaces — at a fraction of the code in the
//! wasm build, where every generic map type is paid for once per key/value pair.

#[allow(unused_imports)]
use crate::prelude::*;
/// See the module docs.
#[derive(Debug)]
pub(crate) struct IdMap<K, V> {
    slots: Vec<(K, Option<V>)>,
    live: usize,
}

impl<K, V> Default for IdMap<K, V> {
    fn default() -> Self {
        IdMap {
            slots: Vec::new(),
            live: 0,
        }
    }
}

impl<K: Ord + Copy, V> IdMap<K, V> {
    fn find(&self, k: &K) -> Result<usize, usize> {
        self.slots.binary_search_by(|(s, _)| s.cmp(k))
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Inserts or replaces. An id below the largest one is placed in order (a shift).
    #[inline]
    pub(crate) fn insert(&mut self, k: K, v: V) {
        if self.slots.last().is_none_or(|(last, _)| *last < k) {
            self.slots.push((k, Some(v)));
            self.live += 1;
            return;
        }
        match self.find(&k) {
            Ok(i) => {
                if let Some((_, slot)) = self.slots.get_mut(i) {
                    if slot.replace(v).is_none() {
                        self.live += 1;
                    }
                }
            }
            Err(i) => {
                self.slots.insert(i, (k, Some(v)));
                self.live += 1;
            }
        }
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        let i = self.find(k).ok()?;
        self.slots.get(i)?.1.as_ref()
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.find(k).ok()?;
        self.slots.get_mut(i)?.1.as_mut()
    }

    #[inline]
    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.find(k).ok()?;
        let v = self.slots.get_mut(i)?.1.take()?;
        self.live -= 1;
        self.squeeze();
        Some(v)
    }

    /// Removes and drops an entry where it lies (no move out of the map: a call is a few
    /// hundred bytes). `false` if there was none.
    #[inline]
    pub(crate) fn discard(&mut self, k: &K) -> bool {
        let Ok(i) = self.find(k) else {
            return false;
        };
        let Some((_, slot)) = self.slots.get_mut(i) else {
            return false;
        };
        if slot.is_none() {
            return false;
        }
        *slot = None;
        self.live -= 1;
        self.squeeze();
        true
    }

    /// Drops trailing holes, and all holes once they outnumber the live entries.
    fn squeeze(&mut self) {
        // (Truncated, not popped: a pop moved each hole, a value's size, out to drop it.)
        let live_end = self
            .slots
            .iter()
            .rposition(|(_, v)| v.is_some())
            .map_or(0, |i| i + 1);
        self.slots.truncate(live_end);
        if self.slots.len() > 2 * self.live + 32 {
            self.slots.retain(|(_, v)| v.is_some());
        }
    }

    /// Live entries in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(|(_, v)| v.as_ref())
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().filter_map(|(_, v)| v.as_mut())
    }
}

/// A small map as a vector of pairs, searched linearly: for the router's few keys
/// (routes by model and scope, regions), where a `BTreeMap` would cost its code once per
/// key/value pair in the wasm build. Order is insertion order.
#[derive(Debug)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K, V> VecMap<K, V> {
    fn find<Q>(&self, k: &Q) -> Option<usize>
    where
        K: core::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.iter().position(|(x, _)| x.borrow() == k)
    }

    pub(crate) fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: core::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.get(self.find(k)?).map(|(_, v)| v)
    }

    pub(crate) fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: core::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        let i = self.find(k)?;
        self.0.get_mut(i).map(|(_, v)| v)
    }

    /// Inserts or replaces.
    pub(crate) fn insert(&mut self, k: K, v: V)
    where
        K: PartialEq,
    {
        match self.get_mut(&k) {
            Some(slot) => *slot = v,
            None => self.0.push((k, v)),
        }
    }

    /// The value for `k`, inserted as `V::default()` first when missing.
    pub(crate) fn get_or_default(&mut self, k: K) -> Option<&mut V>
    where
        K: PartialEq,
        V: Default,
    {
        let i = match self.find(&k) {
            Some(i) => i,
            None => {
                self.0.push((k, V::default()));
                self.0.len() - 1
            }
        };
        self.0.get_mut(i).map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::{IdMap, VecMap};

    #[test]
    fn vec_map_inserts_replaces_and_finds_by_borrowed_key() {
        let mut m: VecMap<String, u32> = VecMap::default();
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        m.insert("a".into(), 3);
        assert_eq!(m.get("a"), Some(&3));
        assert_eq!(m.get("c"), None);
        *m.get_or_default("c".into()).unwrap_or(&mut 0) += 5;
        *m.get_or_default("b".into()).unwrap_or(&mut 0) += 5;
        assert_eq!(m.get("c"), Some(&5));
        assert_eq!(m.get("b"), Some(&7));
        for v in m.values_mut() {
            *v = 0;
        }
        assert_eq!(m.0.len(), 3);
        assert!(m.0.iter().all(|(_, v)| *v == 0));
    }

    #[test]
    fn holes_and_out_of_order_ids_keep_lookups_and_order_right() {
        let mut m: IdMap<u64, u64> = IdMap::default();
        for i in 1..=1000 {
            m.insert(i, i * 10);
        }
        for i in (1..=1000).filter(|i| i % 3 != 0) {
            assert_eq!(m.remove(&i), Some(i * 10));
        }
        assert_eq!(m.remove(&1), None);
        assert_eq!(m.len(), 333);
        assert!(m.slots.len() <= 2 * 333 + 32, "holes are squeezed out");
        m.insert(500, 5); // below the largest: placed in order
        m.insert(3, 33); // replaces
        assert_eq!(m.get(&500), Some(&5));
        assert_eq!(m.get(&3), Some(&33));
        let keys: Vec<u64> = m.iter().map(|(k, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), m.len());
        assert!(m.get(&999).is_some() && m.get(&1000).is_none());
    }
}
