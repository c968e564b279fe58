//! Equalizers: FFE (MMSE and adaptive), DFE, MLSE.
