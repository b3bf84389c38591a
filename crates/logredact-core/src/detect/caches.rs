//! The confirm regexes' search caches — one per rule and per allowlist regex in each
//! [`Scratch`](super::Scratch), created on first use — and the one byte budget that all of them
//! share, in all threads.
//!
//! Owns: creating a rule's cache, counting the bytes each holds, reporting a thread's total to the
//! process-wide [`CacheBudget`], and dropping a thread's least recently used caches while the process is over
//! it. Must never: block or wait (the budget is two atomic counters), or change what a search
//! finds — a dropped cache is rebuilt on its rule's next use, which costs time only.
//!
//! Why: `regex::bytes::Regex` keeps a hidden cache per regex per thread, so ~300 rules × N
//! threads of lazy-DFA states with no bound on the sum (`--threads 1/2/4/8`: 58 / 61 / 92 / 144
//! MiB peak RSS on the realistic corpus; massif at one thread: ~7 MiB of lazy-DFA states).
//! A cache is dropped, not `Cache::reset`: a reset clears the lazy DFA's transition table with
//! `Vec::clear`, which keeps its allocation, so a reset cache would still hold its memory.
//! [`Cache::memory_usage`] counts lengths, not capacities, so the allocator holds up to about
//! twice what is counted: the budget bounds what is counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use regex_automata::meta::{Cache, Regex};

/// The process-wide budget of [`CacheBudget::global`], in counted bytes, for all threads together.
///
/// Measured on the 50 MB realistic corpus (release, `--engine regex`): without a bound one thread's
/// caches count 10.5 MiB (115 rules' caches, the largest 1.2 MiB), each of 4 threads' ~8.2 MiB.
/// Peak RSS at `--threads 4 / 8` was 91–95 / 143–147 MiB with `regex`'s own caches; with a 12 MiB
/// budget 79 / 97 MiB for +20 % / +65 % user CPU, with 16 MiB 80–82 / 102–104 MiB for +10–19 % /
/// +24–54 % (a shared, noisy machine: ranges of two runs). 8 MiB is below what one thread holds, so
/// it would drop caches at `--threads 1` too. At 16 MiB one thread keeps all of them (callgrind,
/// `--threads 1`: 133.8 instructions/byte before and after), but two threads already share less
/// than they hold. 24 MiB (the default): `--threads 2` as without a bound (57–59 MiB peak RSS, CPU
/// within noise), `--threads 8` 105–107 MiB against 135 without a bound for +11 % user CPU (16
/// MiB: 95 MiB for +10–40 %; same run, 2 cores, noisy).
pub const DEFAULT_CACHE_BUDGET: usize = 24 << 20;

/// Mid-batch, a thread reports its count once it moved this far from what it last reported (seen
/// when it measures, every [`MEASURE_EVERY`] searches), so one large batch cannot overrun the
/// budget by much more than this per thread; otherwise it reports once per
/// [`Detector::find`](super::Detector::find), keeping the shared counter's cache line out of the
/// per-confirmation path.
const REPORT_STEP: usize = 256 << 10;

/// Searches between two measurements of the caches they used (and a thread measures when it
/// settles, after each batch). Measuring walks a cache's engines (`Cache::memory_usage`): after
/// every search it was ~3 % of the worst-case corpus's cycles (~30 rules confirmed per line, so
/// ~30 cold caches touched per line). Every 1024 searches, worst case 10 MB, `--threads 1`:
/// 281.0 -> 275.3 instructions per byte, user time -4 % (median of 10 alternating runs). The
/// count lags at most that many searches, each of which adds a few lazy-DFA states once warm.
const MEASURE_EVERY: u32 = 1024;

/// A byte budget shared by the caches of every [`Scratch`](super::Scratch) made with it.
#[derive(Debug)]
pub struct CacheBudget {
    limit: usize,
    /// Bytes reported by all holders.
    total: AtomicUsize,
    /// Holders whose last report was more than zero bytes: the budget is split between them.
    holders: AtomicUsize,
}

impl CacheBudget {
    /// A budget of `limit` counted bytes (0 keeps no cache past a batch: slow, but correct).
    pub fn new(limit: usize) -> Arc<CacheBudget> {
        Arc::new(CacheBudget {
            limit,
            total: AtomicUsize::new(0),
            holders: AtomicUsize::new(0),
        })
    }

    /// The process-wide budget, [`DEFAULT_CACHE_BUDGET`], that [`Detector::scratch`] uses.
    ///
    /// [`Detector::scratch`]: super::Detector::scratch
    pub fn global() -> Arc<CacheBudget> {
        static GLOBAL: OnceLock<Arc<CacheBudget>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| CacheBudget::new(DEFAULT_CACHE_BUDGET))
            .clone()
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes its holders last reported (each holder's count is at most `REPORT_STEP` newer).
    pub fn in_use(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// One thread's caches, one slot per rule and per allowlist regex (the detector numbers them).
pub(super) struct RuleCaches {
    budget: Arc<CacheBudget>,
    /// Boxed: a `Cache` is ~1.4 kB inline, so a slot per rule unboxed took ~0.46 MB per thread
    /// for the built-in rules before any rule ran.
    caches: Vec<Option<Box<Cache>>>,
    /// Per rule: its cache's bytes when last measured.
    bytes: Vec<usize>,
    /// The sum of `bytes`.
    own: usize,
    /// What `budget.total` holds for this thread.
    reported: usize,
    /// Per rule: when (`uses`) its cache was last handed out.
    last_used: Vec<u64>,
    /// Caches handed out so far: the clock of `last_used`.
    uses: u64,
    /// Reused when shrinking: (age, bytes, rule) of the caches held.
    order: Vec<(u64, usize, u32)>,
    /// Slots searched since they were last measured, each once (`unmeasured[slot]` says whether
    /// it is listed), and how many searches that was.
    to_measure: Vec<u32>,
    unmeasured: Vec<bool>,
    searches_unmeasured: u32,
}

impl RuleCaches {
    pub(super) fn new(budget: Arc<CacheBudget>, rules: usize) -> RuleCaches {
        RuleCaches {
            budget,
            caches: (0..rules).map(|_| None).collect(),
            bytes: vec![0; rules],
            own: 0,
            reported: 0,
            last_used: vec![0; rules],
            uses: 0,
            order: Vec::new(),
            to_measure: Vec::new(),
            unmeasured: vec![false; rules],
            searches_unmeasured: 0,
        }
    }

    /// Slot `slot`'s cache for `regex` (the regex of that rule or allowlist entry), created on
    /// first use.
    pub(super) fn cache(&mut self, slot: u32, regex: &Regex) -> &mut Cache {
        self.used(slot);
        self.caches[slot as usize].get_or_insert_with(|| Box::new(regex.create_cache()))
    }

    /// Slot `slot`'s cache for `regex`, taken out of its slot (created if there is none), so
    /// that other slots can be used while it is; give it back with [`RuleCaches::put_back`].
    pub(super) fn take(&mut self, slot: u32, regex: &Regex) -> Box<Cache> {
        self.used(slot);
        self.caches[slot as usize]
            .take()
            .unwrap_or_else(|| Box::new(regex.create_cache()))
    }

    /// Marks slot `slot` as the most recently used (what [`RuleCaches::settle`] drops last).
    fn used(&mut self, slot: u32) {
        self.uses += 1;
        self.last_used[slot as usize] = self.uses;
    }

    /// Puts back a cache [`RuleCaches::take`] took (then note the search with
    /// [`RuleCaches::note_search`]).
    pub(super) fn put_back(&mut self, slot: u32, cache: Box<Cache>) {
        self.caches[slot as usize] = Some(cache);
    }

    /// Notes a search with slot `slot`'s cache. What the caches hold is counted every
    /// [`MEASURE_EVERY`] searches and in [`RuleCaches::settle`], for every slot searched since;
    /// mid-batch, the count is reported once it moved by [`REPORT_STEP`].
    pub(super) fn note_search(&mut self, slot: u32) {
        let listed = &mut self.unmeasured[slot as usize];
        if !*listed {
            *listed = true;
            self.to_measure.push(slot);
        }
        self.searches_unmeasured += 1;
        if self.searches_unmeasured >= MEASURE_EVERY {
            self.measure();
            if self.own.abs_diff(self.reported) >= REPORT_STEP {
                self.settle();
            }
        }
    }

    /// Counts what the caches searched since the last count hold.
    fn measure(&mut self) {
        for slot in self.to_measure.drain(..) {
            let slot = slot as usize;
            self.unmeasured[slot] = false;
            let now = self.caches[slot].as_deref().map_or(0, Cache::memory_usage);
            let was = std::mem::replace(&mut self.bytes[slot], now);
            self.own = self.own - was + now;
        }
        self.searches_unmeasured = 0;
    }

    /// Reports this thread's count; if the process is then over its budget, drops this thread's
    /// least recently used caches until it holds no more than its share (the budget over the holders). Each
    /// thread trims itself after its own batches, so the total comes back under the budget as
    /// soon as every thread over its share has finished a batch; none ever waits for another.
    pub(super) fn settle(&mut self) {
        self.measure();
        self.report();
        let budget = &self.budget;
        if budget.total.load(Ordering::Relaxed) <= budget.limit {
            return;
        }
        let share = budget.limit / budget.holders.load(Ordering::Relaxed).max(1);
        if self.own <= share {
            return;
        }
        self.order.clear();
        // Least recently used first (the largest first among equals): a cold rule's cache costs
        // nothing to drop, a hot rule's states are rebuilt on its next line. Largest first, the
        // hot generic rules' caches went first: 3.1x the CPU of no budget at `--threads 8`
        // (12 MiB), against 1.65x least recently used first (see `DEFAULT_CACHE_BUDGET`).
        let uses = self.uses;
        self.order.extend(
            self.bytes
                .iter()
                .zip(&self.last_used)
                .enumerate()
                .filter(|(_, (&b, _))| b > 0)
                .map(|(rule, (&b, &used))| (uses - used, b, rule as u32)),
        );
        self.order.sort_unstable_by(|a, b| b.cmp(a));
        for &(_, b, rule) in &self.order {
            if self.own <= share {
                break;
            }
            self.caches[rule as usize] = None;
            self.bytes[rule as usize] = 0;
            self.own -= b;
        }
        self.report();
    }

    /// How many caches this thread holds.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.caches.iter().filter(|c| c.is_some()).count()
    }

    /// The bytes this thread's caches hold, as last measured.
    pub(super) fn bytes(&self) -> usize {
        self.own
    }

    fn report(&mut self) {
        let budget = &self.budget;
        if self.own > self.reported {
            budget
                .total
                .fetch_add(self.own - self.reported, Ordering::Relaxed);
        } else if self.own < self.reported {
            budget
                .total
                .fetch_sub(self.reported - self.own, Ordering::Relaxed);
        }
        if self.reported == 0 && self.own > 0 {
            budget.holders.fetch_add(1, Ordering::Relaxed);
        } else if self.reported > 0 && self.own == 0 {
            budget.holders.fetch_sub(1, Ordering::Relaxed);
        }
        self.reported = self.own;
    }
}

impl Drop for RuleCaches {
    fn drop(&mut self) {
        self.own = 0;
        self.report();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn searched(caches: &mut RuleCaches, regexes: &[Regex], hay: &[u8]) {
        for (rule, re) in regexes.iter().enumerate() {
            let cache = caches.cache(rule as u32, re);
            let _ = re.search_with(cache, &regex_automata::Input::new(hay));
            caches.note_search(rule as u32);
        }
    }

    fn regexes() -> Vec<Regex> {
        [
            "password=([a-z0-9]{4,40})",
            "(?i)token[:=]\\s*([A-Za-z0-9_-]{8,})",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("test pattern compiles"))
        .collect()
    }

    #[test]
    fn the_total_counts_every_holder_and_forgets_dropped_ones() {
        let budget = CacheBudget::new(usize::MAX);
        let res = regexes();
        let mut a = RuleCaches::new(budget.clone(), res.len());
        let mut b = RuleCaches::new(budget.clone(), res.len());
        searched(&mut a, &res, b"x password=abcd1234 TOKEN: zzzzzzzzzz");
        searched(&mut b, &res, b"y token=qqqqqqqqqqqq");
        a.settle();
        b.settle();
        assert!(a.bytes() > 0 && b.bytes() > 0);
        assert_eq!(budget.in_use(), a.bytes() + b.bytes());
        assert_eq!(budget.holders.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(budget.in_use(), b.bytes());
        assert_eq!(budget.holders.load(Ordering::Relaxed), 1);
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.holders.load(Ordering::Relaxed), 0);
    }

    /// Searches are counted in batches of [`MEASURE_EVERY`], and at the latest when the thread
    /// settles: never a search whose cache growth goes uncounted past that.
    #[test]
    fn searches_are_measured_every_few_searches_and_when_settling() {
        let res = regexes();
        let budget = CacheBudget::new(usize::MAX);
        let mut caches = RuleCaches::new(budget.clone(), res.len());
        searched(&mut caches, &res[..1], b"password=abcd1234");
        assert_eq!(caches.bytes(), 0, "not yet measured");
        caches.settle();
        let one = caches.bytes();
        assert!(one > 0);
        assert_eq!(budget.in_use(), one);
        // Rule 1's cache, searched MEASURE_EVERY times: counted without a settle.
        for _ in 0..MEASURE_EVERY {
            let cache = caches.cache(1, &res[1]);
            let _ = res[1].search_with(cache, &regex_automata::Input::new(b"token=abcdefgh1234"));
            caches.note_search(1);
        }
        assert!(
            caches.bytes() > one,
            "measured after {MEASURE_EVERY} searches"
        );
    }

    #[test]
    fn over_the_budget_a_holder_trims_itself_to_its_share() {
        let res = regexes();
        let mut used = RuleCaches::new(CacheBudget::new(usize::MAX), res.len());
        searched(&mut used, &res, b"password=abcd1234 token=abcdefgh1234");
        used.settle();
        assert!(used.bytes.iter().all(|&b| b > 0));
        // A budget one byte short: the least recently used cache (rule 0) goes, rule 1's stays.
        let budget = CacheBudget::new(used.bytes() - 1);
        let mut caches = RuleCaches::new(budget.clone(), res.len());
        searched(&mut caches, &res, b"password=abcd1234 token=abcdefgh1234");
        caches.settle();
        assert_eq!(caches.bytes(), used.bytes[1]);
        assert_eq!(budget.in_use(), caches.bytes());
        assert!(caches.caches[0].is_none() && caches.caches[1].is_some());
        // A zero budget keeps nothing, and a dropped cache is rebuilt on use.
        let none = CacheBudget::new(0);
        let mut caches = RuleCaches::new(none.clone(), res.len());
        searched(&mut caches, &res, b"password=abcd1234");
        caches.settle();
        assert_eq!((caches.bytes(), none.in_use()), (0, 0));
        searched(&mut caches, &res, b"password=abcd1234");
        assert_eq!(caches.held(), res.len());
    }
}
