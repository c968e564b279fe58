//! FIR filtering with runtime-dispatched SIMD and a naive reference.
