//! A map for a handful of entries (what the loader keeps for the panel, the sends not yet
//! confirmed), kept in a `Vec`: far less code in the module than a hash map, and as fast for
//! a few entries.

pub(crate) struct SmallMap<V>(Vec<(String, V)>);

impl<V> SmallMap<V> {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub(crate) fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.position(key)?;
        Some(self.0.swap_remove(i).1)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The entries, in the order they were first inserted (a removal may reorder).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map() {
        let mut map = SmallMap::new();
        assert_eq!(map.insert("a".into(), 1), None);
        assert_eq!(map.insert("b".into(), 2), None);
        assert_eq!(map.insert("a".into(), 3), Some(1));
        assert_eq!(map.get("a"), Some(&3));
        assert_eq!(map.remove("a"), Some(3));
        assert_eq!(map.remove("a"), None);
        assert_eq!(map.get("b"), Some(&2));
        map.insert("c".into(), 4);
        assert_eq!(map.iter().collect::<Vec<_>>(), [("b", &2), ("c", &4)]);
        map.clear();
        assert_eq!(map.get("b"), None);
    }
}
