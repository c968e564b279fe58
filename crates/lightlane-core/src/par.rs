//! Small helpers for keeping serial work off the calling thread, for running independent work
//! side by side, and for searching a long slice on the thread pool.

use rayon::prelude::*;

/// Elements per task of [`position_first`].
const SEARCH_CHUNK: usize = 1 << 14;

/// The index of the first element of `v` where `pred` holds, as `v.iter().position(pred)`,
/// searched on the thread pool in chunks of 16 384: the first chunk holding one is found in
/// parallel, then searched in order. Rayon's own per-element `position_first` goes through its
/// consumer machinery for every element (about 17 ns each: 0.06 s of one core for 3.5 M
/// elements, against 1–2 ms this way).
pub fn position_first<T: Sync>(v: &[T], pred: impl Fn(&T) -> bool + Sync) -> Option<usize> {
    let c = v.par_chunks(SEARCH_CHUNK).position_first(|c| c.iter().any(&pred))?;
    let start = c * SEARCH_CHUNK;
    v[start..].iter().position(&pred).map(|i| start + i)
}

/// Drops `x` on the thread pool. Returning the pages of a large buffer to the kernel (about a
/// millisecond per tens of MB) is serial work of the calling thread that nothing after the drop
/// waits for; on the pool it overlaps with the caller's next work.
pub(crate) fn free_on_pool<T: Send + 'static>(x: T) {
    rayon::spawn(move || drop(x));
}

/// [`free_on_pool`] for a vector of at least 1 MiB; a smaller one is dropped here (~35 ms for
/// a 445 MB eye signal, ~5 ms for 3.5 M decisions as `usize`; a task costs a few µs).
pub(crate) fn free_in_background<T: Send + 'static>(v: Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() >= 1 << 20 {
        free_on_pool(v);
    }
}

/// `(a(), b())`: side by side on the pool when `beside` (`rayon::join`), else `a` then `b` on
/// this thread (the pipeline's stage order for per-stage profiles).
pub(crate) fn join_if<A, B, RA, RB>(beside: bool, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if beside {
        rayon::join(a, b)
    } else {
        let ra = a();
        (ra, b())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_first_is_the_serial_position() {
        let n = 5 * SEARCH_CHUNK + 123;
        let v: Vec<u32> = (0..n as u32).collect();
        // Hits at each chunk's first and last element, inside one, in the last partial chunk,
        // a later hit in an earlier chunk than another: always the first.
        for at in [0, 1, SEARCH_CHUNK - 1, SEARCH_CHUNK, 3 * SEARCH_CHUNK + 77, 5 * SEARCH_CHUNK, n - 1] {
            let pred = |&x: &u32| x as usize >= at && x % 2 == at as u32 % 2;
            assert_eq!(position_first(&v, pred), v.iter().position(pred), "{at}");
            assert_eq!(position_first(&v, pred), Some(at));
        }
        // Several hits, the first not at a chunk start.
        let pred = |&x: &u32| x % (2 * SEARCH_CHUNK as u32 + 5) == 2 * SEARCH_CHUNK as u32 + 4;
        assert_eq!(position_first(&v, pred), Some(2 * SEARCH_CHUNK + 4));
        assert_eq!(position_first(&v, |&x| x as usize >= n), None);
        assert_eq!(position_first(&[] as &[u32], |_| true), None);
        // On more threads than chunks, and on one.
        for threads in [1, 7] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(|| position_first(&v, |&x| x > 4 * SEARCH_CHUNK as u32 && x % 3 == 0)), Some(4 * SEARCH_CHUNK + 2));
        }
    }
}
