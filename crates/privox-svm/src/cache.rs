//! LIBSVM's LRU cache of (partial) kernel columns.
//!
//! Column `i` may be cached for its first `len` entries only (the active set
//! while shrinking). Memory is counted in `f32` entries, like LIBSVM's
//! `Qfloat`; the cache always holds at least two full columns, so the two
//! columns of a working pair never evict each other.

pub(crate) struct Cache {
    /// Free space, in f32 entries.
    free: usize,
    data: Vec<Vec<f32>>,
    // Circular doubly linked LRU list over 0..l, sentinel at index l.
    prev: Vec<usize>,
    next: Vec<usize>,
    linked: Vec<bool>,
}

impl Cache {
    /// `l` columns, `bytes` of cache budget.
    pub(crate) fn new(l: usize, bytes: usize) -> Self {
        let mut free = bytes / std::mem::size_of::<f32>();
        // LIBSVM subtracts the per-column bookkeeping, then keeps room for two columns.
        free = free.saturating_sub(l * 4);
        free = free.max(2 * l);
        Cache {
            free,
            data: vec![Vec::new(); l],
            prev: vec![l; l + 1],
            next: vec![l; l + 1],
            linked: vec![false; l],
        }
    }

    fn sentinel(&self) -> usize {
        self.data.len()
    }

    fn lru_delete(&mut self, h: usize) {
        let (p, n) = (self.prev[h], self.next[h]);
        self.next[p] = n;
        self.prev[n] = p;
        self.linked[h] = false;
    }

    fn lru_insert(&mut self, h: usize) {
        let s = self.sentinel();
        let last = self.prev[s];
        self.next[h] = s;
        self.prev[h] = last;
        self.next[last] = h;
        self.prev[s] = h;
        self.linked[h] = true;
    }

    /// Makes room for column `index` to hold `len` entries (evicting least
    /// recently used columns) and returns how many entries are already valid;
    /// the caller must then append entries `start..len` with
    /// [`Cache::column_vec_mut`] (no zero-fill first: that memset showed up
    /// in profiles).
    pub(crate) fn request(&mut self, index: usize, len: usize) -> usize {
        if self.linked[index] {
            self.lru_delete(index);
        }
        let have = self.data[index].len();
        if len > have {
            let more = len - have;
            while self.free < more {
                let s = self.sentinel();
                let old = self.next[s];
                // The list is non-empty here: `free` plus all cached entries
                // is at least 2·l ≥ more + have, so something is evictable.
                if old == s {
                    break;
                }
                self.lru_delete(old);
                self.free += self.data[old].len();
                self.data[old] = Vec::new();
            }
            self.data[index].reserve_exact(more);
            self.free = self.free.saturating_sub(more);
        }
        self.lru_insert(index);
        have.min(len)
    }

    pub(crate) fn column_vec_mut(&mut self, index: usize) -> &mut Vec<f32> {
        &mut self.data[index]
    }

    pub(crate) fn column(&self, index: usize) -> &[f32] {
        &self.data[index]
    }

    /// Mirrors a swap of points `i` and `j` in the solver's ordering.
    pub(crate) fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (li, lj) = (self.linked[i], self.linked[j]);
        if li {
            self.lru_delete(i);
        }
        if lj {
            self.lru_delete(j);
        }
        self.data.swap(i, j);
        if !self.data[i].is_empty() {
            self.lru_insert(i);
        }
        if !self.data[j].is_empty() {
            self.lru_insert(j);
        }
        let (i, j) = if i > j { (j, i) } else { (i, j) };
        let s = self.sentinel();
        let mut h = self.next[s];
        while h != s {
            let nxt = self.next[h];
            let len = self.data[h].len();
            if len > i {
                if len > j {
                    self.data[h].swap(i, j);
                } else {
                    // The column covers i but not j: drop it (LIBSVM does the same).
                    self.lru_delete(h);
                    self.free += len;
                    self.data[h] = Vec::new();
                }
            }
            h = nxt;
        }
    }
}
