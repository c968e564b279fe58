//! Timing: sampling-phase recovery and resampling to N samples per UI.
