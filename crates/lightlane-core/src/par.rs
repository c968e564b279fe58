//! Small helpers for keeping serial work off the calling thread.

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
