//! Forward error correction: GF(2^10), KP4/KR4 Reed-Solomon, codeword statistics, 802.3dj inner code.
