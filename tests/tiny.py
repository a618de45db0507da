"""Model sizes small enough for tests that train (shared by several test files)."""

TINY_MEMO = {
    "d_model": 16,
    "n_layers": 1,
    "n_heads": 2,
    "d_ff": 32,
    "segment_length": 20,
    "summary_length": 2,
}
