//! Test patterns (PRBS, PRBSnQ, SSPRQ, user symbols) and pattern synchronisation / error counting.
