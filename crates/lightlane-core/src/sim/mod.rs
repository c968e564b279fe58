//! Link simulation: pattern → levels → Tx FFE → channel → noise and jitter → sampled capture.
