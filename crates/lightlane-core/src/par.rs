//! Small helpers for keeping serial work off the calling thread.

/// Drops `v` on the thread pool when it is large (≥ 1 MiB), else here. Returning the pages of a
/// capture-sized buffer to the kernel is serial work of the calling thread (~35 ms for a
/// 445 MB eye signal, ~5 ms for 3.5 M decisions as `usize`) that nothing after the drop waits
/// for. The pool picks the task up between its parallel jobs.
pub(crate) fn free_in_background<T: Send + 'static>(v: Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() >= 1 << 20 {
        rayon::spawn(move || drop(v));
    }
}
