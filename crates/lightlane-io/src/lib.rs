//! # lightlane-io
//!
//! Capture file readers and writers producing [`lightlane_core::Waveform`].
