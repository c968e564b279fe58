//! Small helpers for keeping serial work off the calling thread, and for running independent
//! work side by side.

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
