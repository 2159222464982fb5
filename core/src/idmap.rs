//! A map keyed by ids the core hands out in increasing order (calls, requests): a vector
//! sorted by id, with holes where entries were removed.
//!
//! New ids are the largest, so an insert is a push; a lookup is a binary search; a
//! removal leaves a hole, and the holes are squeezed out once they outnumber the live
//! entries (amortised O(1), memory at most about twice the live entries). Iteration is
//! in id order, as with the `BTreeMap` it replaces — at a fraction of the code in the
//! wasm build, where every generic map type is paid for once per key/value pair.

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
    pub(crate) fn insert(&mut self, k: K, v: V) {
        if self.slots.last().is_none_or(|(last, _)| *last < k) {
            self.slots.push((k, Some(v)));
            self.live += 1;
            return;
        }
        match self.find(&k) {
            Ok(i) => {
                if self.slots[i].1.replace(v).is_none() {
                    self.live += 1;
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
        self.slots[i].1.as_ref()
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.find(k).ok()?;
        self.slots[i].1.as_mut()
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.find(k).ok()?;
        let v = self.slots[i].1.take()?;
        self.live -= 1;
        while self.slots.last().is_some_and(|(_, v)| v.is_none()) {
            self.slots.pop();
        }
        if self.slots.len() > 2 * self.live + 32 {
            self.slots.retain(|(_, v)| v.is_some());
        }
        Some(v)
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

#[cfg(test)]
mod tests {
    use super::IdMap;

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
