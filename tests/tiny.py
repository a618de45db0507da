"""Model sizes small enough for tests that train (shared by several test files)."""

TINY_MEMO = {
    "d_model": 16,
    "n_layers": 1,
    "n_heads": 2,
    "d_ff": 32,
    "segment_length": 20,
    "summary_length": 2,
}

TINY_TRMRL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "wm_size": 4}

_SEGMENTS = {"segment_length": 6, "summary_length": 2, "segment_jitter": 0.0}
_SMALL_TRANSFORMER = {"d_model": 16, "n_layers": 2, "n_heads": 2, "d_ff": 32}
# Every agent at a size for rollouts through real scenes (short segments, so a 25-step trial spans several).
SMALL_AGENTS: dict[str, dict[str, object]] = {
    "trmrl": _SMALL_TRANSFORMER,
    "memo": {**_SMALL_TRANSFORMER, **_SEGMENTS},
    "rmt": {**_SMALL_TRANSFORMER, **_SEGMENTS},
    "fct": _SMALL_TRANSFORMER,
    "rl2": {"hidden_size": 16},
    "mlp": {},
}
