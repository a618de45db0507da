"""Agents: the cached `step` path equals the `evaluate` path, memory semantics, initialisation, registry."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from agents import AGENTS, KEY_STEP, KEY_SUMMARY, Agent, StepOutput, TokenBatch, describe_agents, make_agent
from agents.registry import make_spec

OBS, ACT = 5, 3
SMALL: dict[str, dict[str, Any]] = {
    "trmrl": {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 2},
    "memo": {"d_model": 16, "n_heads": 2, "d_ff": 32, "segment_length": 6, "summary_length": 2},
    "rmt": {"d_model": 16, "n_heads": 2, "d_ff": 32, "segment_length": 6, "summary_length": 2},
    "fct": {"d_model": 16, "n_heads": 2, "d_ff": 32},
    "rl2": {"hidden_size": 16},
    "mlp": {"oracle_task_dim": 2},
}
KINDS = ("continuous", "discrete")


def small(name: str, kind: str = "continuous", seed: int = 0, **overrides: Any) -> Agent:
    torch.manual_seed(seed)
    return make_agent(name, OBS, kind, ACT, **{**SMALL[name], **overrides}).eval()


def random_trials(
    batch: int, length: int, kind: str, trial_len: int, p_end: float = 0.08, task_dim: int = 0, seed: int = 0
) -> TokenBatch:
    """Synthetic token streams: trials of `trial_len` steps (synchronized), random episode ends per env."""
    g = torch.Generator().manual_seed(seed)
    if kind == "continuous":
        actions = torch.randn(batch, length, ACT, generator=g)
    else:
        actions = nn.functional.one_hot(torch.randint(ACT, (batch, length), generator=g), ACT).float()
    trial_start = torch.zeros(batch, length, dtype=torch.bool)
    trial_start[:, ::trial_len] = True
    episode_start = (torch.rand(batch, length, generator=g) < p_end) | trial_start
    prev_done = episode_start.float() * ~trial_start
    task = torch.randn(batch, length, task_dim, generator=g) if task_dim else None
    return TokenBatch(
        torch.randn(batch, length, OBS, generator=g),
        actions * ~trial_start.unsqueeze(-1),
        torch.randn(batch, length, generator=g) * ~trial_start,
        prev_done,
        episode_start,
        trial_start,
        task,
    )


def token_at(seq: TokenBatch, t: int) -> TokenBatch:
    return seq.index((slice(None), t))


def params(dist: Distribution) -> Tensor:
    return dist.logits if hasattr(dist, "logits") else dist.mean  # type: ignore[attr-defined]


def run(agent: Agent, seq: TokenBatch, trace: bool = False, **state_kw: Any) -> list[StepOutput]:
    state = agent.initial_state(seq.obs.shape[0], **state_kw)
    outs = []
    for t in range(seq.obs.shape[1]):
        out = agent.step(token_at(seq, t), state, trace=trace)
        state = out.state
        outs.append(out)
    return outs


def ones_mask(seq: TokenBatch) -> Tensor:
    return torch.ones(seq.lead_shape, dtype=torch.bool)


def assert_step_equals_evaluate(
    agent: Agent, seq: TokenBatch, outs: list[StepOutput], atol: float = 1e-5, **eval_kw: Any
) -> None:
    with torch.no_grad():
        dist, values = agent.evaluate(seq, ones_mask(seq), **eval_kw)
    stepped = torch.stack([params(o.dist) for o in outs], dim=1)
    torch.testing.assert_close(stepped, params(dist), atol=atol, rtol=0)
    torch.testing.assert_close(torch.stack([o.value for o in outs], dim=1), values, atol=atol, rtol=0)


def variant_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "-".join(f"{k}={x}" for k, x in value.items()) or "default"


VARIANTS = [
    ("trmrl", {}),
    ("trmrl", {"window_spans_episodes": True, "value_input": "separate"}),
    ("memo", {}),
    ("memo", {"stream_window": 11}),
    ("rmt", {}),
    ("rmt", {"stream_window": 9}),
    ("fct", {}),
    ("fct", {"stream_window": 7}),
    ("rl2", {}),
    ("mlp", {}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "overrides"), VARIANTS, ids=variant_id)
def test_cached_step_equals_evaluate(name: str, overrides: dict[str, Any], kind: str) -> None:
    """Two trials of 35 steps in one sequence: many segments, random episode ends per env, a trial start
    mid-sequence, all through the caches; the uncached training forward must give the same outputs."""
    agent = small(name, kind, **overrides)
    seq = random_trials(3, 70, kind, trial_len=35, task_dim=agent.task_dim)
    assert_step_equals_evaluate(agent, seq, run(agent, seq))


@pytest.mark.parametrize("name", ["trmrl", "memo", "rl2", "mlp"])
def test_observation_normalisation_is_part_of_both_paths(name: str) -> None:
    """With running statistics far from (0, 1), `step` and `evaluate` still agree, and both differ from the
    same agent without the normaliser (so the statistics are really applied)."""
    agent = small(name, normalize_observations=True)
    seq = random_trials(3, 40, "continuous", trial_len=20, task_dim=agent.task_dim)
    raw = small(name)
    raw.load_state_dict({k: v for k, v in agent.state_dict().items() if not k.startswith("obs_normalizer.")})
    agent.obs_normalizer.update(seq.obs * 4 + 3)
    assert_step_equals_evaluate(agent, seq, run(agent, seq))
    with torch.no_grad():
        normalised, raw_out = agent.evaluate(seq, ones_mask(seq)), raw.evaluate(seq, ones_mask(seq))
    assert not torch.allclose(params(normalised.dist), params(raw_out.dist), atol=1e-3)
    assert set(agent.state_dict()) - set(raw.state_dict()) == {
        "obs_normalizer.mean",
        "obs_normalizer.var",
        "obs_normalizer.count",
    }


@pytest.mark.parametrize(
    ("name", "overrides"),
    [("memo", {}), ("rmt", {}), ("fct", {}), ("memo", {"stream_window": 20})],
    ids=variant_id,
)
def test_long_trial_step_equals_evaluate(name: str, overrides: dict[str, Any]) -> None:
    """One 300-step trial: 50 segment ends, 100 summaries for Memo; float32 errors must not build up."""
    agent = small(name, "discrete", **overrides)
    seq = random_trials(2, 300, "discrete", trial_len=300, p_end=0.02)
    assert_step_equals_evaluate(agent, seq, run(agent, seq))


@pytest.mark.parametrize(("name", "overrides"), VARIANTS[1:8:2], ids=variant_id)
def test_paths_agree_to_float64_precision(name: str, overrides: dict[str, Any]) -> None:
    """In float64 the two paths agree to ~1e-15: they are the same function, not merely close ones."""
    agent = small(name, **overrides).double()
    seq = random_trials(2, 50, "continuous", trial_len=25)
    seq = dataclasses.replace(seq, obs=seq.obs.double())
    assert_step_equals_evaluate(agent, seq, run(agent, seq), atol=1e-12)


def test_memo_training_segmentation_is_reproducible_by_step() -> None:
    agent = small("memo").train()
    seq = random_trials(2, 40, "continuous", trial_len=40)
    drawn = agent.sample_segment_length(torch.Generator().manual_seed(3))
    assert int(0.8 * 6) <= drawn <= int(1.2 * 6)
    with torch.no_grad():
        a = agent.evaluate(seq, ones_mask(seq), generator=torch.Generator().manual_seed(3))
        b = agent.evaluate(seq, ones_mask(seq), segment_length=drawn)
    torch.testing.assert_close(a.values, b.values, atol=0, rtol=0)
    outs = run(agent.eval(), seq, segment_length=drawn)
    assert_step_equals_evaluate(agent, seq, outs, segment_length=drawn)
    lengths = {agent.sample_segment_length(torch.Generator().manual_seed(s)) for s in range(50)}
    assert min(lengths) >= 4 and max(lengths) <= 7 and len(lengths) > 1


def test_memo_amago_segment_draw_is_the_forks_and_step_still_equals_evaluate() -> None:
    """segment_draw 'amago': int(a + (l_seg + 1 - a)·sqrt(u)), a = 80·l_sum (the AMAGO fork's draw), so below
    l_seg the lengths lie in [a, l_seg] with mean a + (l_seg + 1 - a)·2/3; with its T-maze command (a = 320 above
    l_seg = 256) in [257, 320]; and the drawn length runs step and evaluate alike."""
    agent = small("memo", segment_length=200, summary_length=1, segment_draw="amago").train()
    lengths = [agent.sample_segment_length(torch.Generator().manual_seed(s)) for s in range(2000)]
    assert min(lengths) >= 80 and max(lengths) <= 200
    assert abs(sum(lengths) / len(lengths) - (80 + 121 * 2 / 3)) < 2  # sd 33 / sqrt(2000): ±0.8 at 2.5 sigma
    generator = torch.Generator().manual_seed(7)
    u = float(torch.rand((), generator=torch.Generator().manual_seed(7)))
    assert agent.sample_segment_length(generator) == int(80 + 121 * u**0.5)
    tmaze = make_spec("memo", segment_length=256, summary_length=4, segment_draw="amago")
    assert (tmaze.min_segment_length, tmaze.max_segment_length) == (257, 320)
    assert make_spec("memo", "gridworld-amago").segment_draw == "amago"
    with pytest.raises(ValueError, match="segment_draw must be"):
        make_spec("memo", segment_draw="gaussian")

    short = small("memo", segment_length=6, summary_length=1, segment_draw="amago").train()  # a = 80 > 6
    drawn = short.sample_segment_length(torch.Generator().manual_seed(1))
    assert 7 <= drawn <= 80
    seq = random_trials(2, 120, "continuous", trial_len=120)
    assert_step_equals_evaluate(
        short, seq, run(short.eval(), seq, segment_length=drawn), segment_length=drawn
    )
    assert short.rollout_options(torch.Generator(), training=False) == {}


@pytest.mark.parametrize("name", ["memo", "rmt"])
def test_memo_attends_only_to_summaries_and_its_own_segment(name: str) -> None:
    """From the trace: the keys the token attends to are the held summaries plus the current segment's raw
    tokens, never a raw token of an earlier segment; the weights sum to 1 over them."""
    agent = small(name)
    l_seg, l_sum = 6, 2
    seq = random_trials(2, 40, "discrete", trial_len=40)
    summary_mass = 0.0
    for t, out in enumerate(run(agent, seq, trace=True)):
        att = out.trace.attention
        segment, seg_start = t // l_seg, (t // l_seg) * l_seg
        raw = att.key_kind[0] == KEY_STEP
        summaries = att.key_kind[0] == KEY_SUMMARY
        assert bool((raw | summaries).all())
        assert att.key_time[0][raw].tolist() == list(range(seg_start, t + 1))
        assert bool((att.key_segment[0][raw] == segment).all())
        held = segment * l_sum if name == "memo" else min(segment, 1) * l_sum
        assert int(summaries.sum()) == held
        assert bool((att.key_segment[0][summaries] < segment).all())
        if name == "rmt" and segment:
            assert bool((att.key_segment[0][summaries] == segment - 1).all())
        for w in att.weights:
            assert w.shape == (2, 2, held + t - seg_start + 1)
            torch.testing.assert_close(w.sum(-1), torch.ones(2, 2))
            summary_mass += float(w[..., summaries].sum())
        if t % l_seg == l_seg - 1:
            (event,) = out.trace.events
            assert (event.step, event.segment) == (t, segment)
            assert event.summary_tokens == ((segment + 1) * l_sum if name == "memo" else l_sum)
            assert event.summary.shape == (2, l_sum, 16)
        else:
            assert out.trace.events == []
    assert summary_mass > 0


def test_memo_gradients_flow_through_summaries_and_only_through_them() -> None:
    """The last segment sees the first one only through summaries: gradients reach the first segment's
    tokens, and vanish when every summary is detached (no raw path exists)."""
    seq = random_trials(1, 18, "continuous", trial_len=18)
    grads = []
    for detach in (0.0, 1.0):
        agent = small("memo", summary_detach_prob=detach).train()
        obs = seq.obs.clone().requires_grad_(True)
        _, values = agent.evaluate(dataclasses.replace(seq, obs=obs), ones_mask(seq), segment_length=6)
        values[:, 12:].sum().backward()
        grads.append(obs.grad[:, :6].abs().sum().item())
    assert grads[0] > 0
    assert grads[1] == 0


def test_trmrl_tfixup_initialisation_and_no_layernorm() -> None:
    torch.manual_seed(0)
    agent = make_agent("trmrl", 20, "continuous", 6, preset="mujoco")
    d, n, d_ff = 128, 4, 512
    assert not any(isinstance(m, nn.LayerNorm | nn.RMSNorm) for m in agent.modules())
    assert isinstance(agent.encoder.final_norm, nn.Identity)
    scale = 0.67 * n**-0.25

    def check(w: Tensor, expected: float) -> None:
        assert w.std().item() == pytest.approx(expected, rel=0.05)

    check(agent.embed.weight, d**-0.5 * (9 * n) ** -0.25)
    assert agent.embed.bias is None
    for block in agent.encoder.blocks:
        assert isinstance(block.norm1, nn.Identity) and isinstance(block.norm2, nn.Identity)
        # Xavier-uniform std is sqrt(2 / (fan_in + fan_out)); the fused in-projection gets an extra sqrt(2).
        check(block.attn.qkv.weight, scale * math.sqrt(2) * math.sqrt(2 / (d + 3 * d)))
        check(block.attn.out.weight, scale * math.sqrt(2 / (2 * d)))
        check(block.ffn.linear1.weight, scale * math.sqrt(2 / (d + d_ff)))
        check(block.ffn.linear2.weight, scale * math.sqrt(2 / (d + d_ff)))
        assert not block.attn.qkv.bias.any() and not block.attn.out.bias.any()
    assert agent.policy.log_std.exp().tolist() == pytest.approx([1.0] * 6)
    cheetah = make_agent("trmrl", 20, "continuous", 6, preset="halfcheetah-vel")
    assert cheetah.policy.log_std.exp().tolist() == pytest.approx([0.2] * 6)
    assert cheetah.value.net[0].in_features == cheetah.token_dim  # separate value MLP on the raw token
    memo = make_agent("memo", 4, "discrete", 5)
    assert any(isinstance(m, nn.LayerNorm) for m in memo.modules())


@pytest.mark.parametrize(("name", "window"), [("fct", 8), ("memo", 12)])
def test_streaming_cache_stays_bounded(name: str, window: int) -> None:
    agent = small(name, stream_window=window)
    seq = random_trials(2, 150, "discrete", trial_len=150)
    outs = run(agent, seq, trace=True)
    held = [o.trace.cache_tokens for o in outs]
    assert max(held) <= window
    state = outs[-1].state
    assert state.cache.capacity <= 2 * window
    if name == "memo":
        assert 0 < state.held < state.n_summary  # old summaries were dropped
    unbounded = run(small(name), seq, trace=True)
    assert unbounded[-1].trace.cache_tokens > 2 * window


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_and_dtypes(name: str, kind: str) -> None:
    agent = small(name, kind)
    b, t = 3, 9
    seq = random_trials(b, t, kind, trial_len=t, task_dim=agent.task_dim)
    out = run(agent, seq)[-1]
    action = out.dist.sample()
    assert action.shape == ((b, ACT) if kind == "continuous" else (b,))
    assert action.dtype == (torch.float32 if kind == "continuous" else torch.int64)
    assert out.dist.log_prob(action).shape == (b,) and out.dist.entropy().shape == (b,)
    assert out.value.shape == (b,) and out.value.dtype == torch.float32
    dist, values = agent.evaluate(seq, ones_mask(seq))
    assert dist.batch_shape == (b, t) and values.shape == (b, t) and values.dtype == torch.float32
    assert dist.log_prob(dist.sample()).shape == (b, t)
    values.sum().backward()  # the training path keeps gradients


@pytest.mark.parametrize("name", ["trmrl", "fct", "memo", "rmt"])
def test_attention_trace_is_normalised_and_does_not_change_outputs(name: str) -> None:
    agent = small(name)
    seq = random_trials(3, 30, "continuous", trial_len=30, p_end=0.15)
    plain, traced = run(agent, seq), run(agent, seq, trace=True)
    for a, b in zip(plain, traced, strict=True):
        torch.testing.assert_close(params(a.dist), params(b.dist), atol=1e-5, rtol=0)
        att = b.trace.attention
        assert len(att.weights) == 2 and b.trace.memory.shape == (3, 16)
        for w in att.weights:
            assert w.shape[:2] == (3, 2) and w.shape[2] == att.key_kind.shape[1]
            torch.testing.assert_close(w.sum(-1), torch.ones(3, 2))
            assert not w.masked_select(~att.valid.unsqueeze(1)).any()
        assert b.trace.cache_bytes > 0
        assert a.trace is None


def test_trmrl_window_follows_episodes_unless_told_to_span_them() -> None:
    """Official behaviour: the window restarts at every episode start; with the option it reaches into
    earlier episodes of the trial; a trial start always clears it."""
    seq = random_trials(4, 40, "continuous", trial_len=20, p_end=0.2, seed=1)
    for spans in (False, True):
        agent = small("trmrl", window_spans_episodes=spans)
        window_begin = torch.zeros(4, dtype=torch.long)
        for t, out in enumerate(run(agent, seq, trace=True)):
            trial_t = t % 20
            resets = seq.trial_start[:, t] if spans else seq.episode_start[:, t]
            window_begin = torch.where(resets, trial_t, window_begin)
            window = out.trace.window_time
            for env in range(4):
                first = max(int(window_begin[env]), trial_t - 4)
                held = window[env][window[env] >= 0].tolist()
                assert held == list(range(first, trial_t + 1))
                assert window[env].tolist() == [-1] * (5 - len(held)) + held
            assert out.trace.working_memory.shape == (4, 16)


def test_rmt_holds_only_the_newest_summary_and_memo_accumulates() -> None:
    seq = random_trials(1, 30, "discrete", trial_len=30)
    for name, expected in (("memo", [2, 4, 6, 8, 10]), ("rmt", [2, 2, 2, 2, 2])):
        events = [e for o in run(small(name), seq, trace=True) for e in o.trace.events]
        assert [e.summary_tokens for e in events] == expected
        assert [e.segment for e in events] == [0, 1, 2, 3, 4]
        assert [e.step for e in events] == [5, 11, 17, 23, 29]


def test_cache_bytes_match_the_cache_layout() -> None:
    agent = small("memo")
    out = run(agent, random_trials(3, 15, "discrete", trial_len=15), trace=True)[-1]
    # 2 segments x 2 summaries + 3 tokens of the third segment; keys and values, 2 layers, 3 envs, d 16,
    # float32.
    assert out.trace.cache_tokens == 4 + 3
    assert out.trace.cache_bytes == 7 * 2 * 2 * 3 * 16 * 4


def test_mlp_oracle_reads_the_task() -> None:
    seq = random_trials(2, 4, "continuous", trial_len=4, task_dim=2)
    other = dataclasses.replace(seq, task=seq.task + 1.0)
    oracle = small("mlp")
    blind = small("mlp", oracle_task_dim=0)
    with torch.no_grad():
        assert not torch.allclose(
            oracle.evaluate(seq, ones_mask(seq)).values, oracle.evaluate(other, ones_mask(seq)).values
        )
        torch.testing.assert_close(
            blind.evaluate(seq, ones_mask(seq)).values, blind.evaluate(other, ones_mask(seq)).values
        )
    no_task = token_at(seq, 0)
    no_task.task = None
    with pytest.raises(ValueError, match="task"):
        oracle.step(no_task, oracle.initial_state(2))
    # No memory at all: the previous action, reward and done flag change nothing (they do for RL²).
    previous = dataclasses.replace(
        seq, prev_action=-seq.prev_action, prev_reward=seq.prev_reward + 1.0, prev_done=1.0 - seq.prev_done
    )
    for agent, changes in ((oracle, False), (small("rl2"), True)):
        with torch.no_grad():
            a, b = (agent.evaluate(s, ones_mask(seq)).dist.mean for s in (seq, previous))
        assert torch.allclose(a, b) != changes


@pytest.mark.parametrize("name", ["trmrl", "memo", "fct", "rl2"])
def test_padding_never_reaches_valid_outputs(name: str) -> None:
    agent = small(name)
    seq = random_trials(2, 20, "continuous", trial_len=20)
    mask = ones_mask(seq)
    mask[1, 13:] = False
    padded = dataclasses.replace(seq, obs=seq.obs.clone())
    padded.obs[1, 13:] = float("nan")
    with torch.no_grad():
        out = agent.evaluate(padded, mask)
        short = agent.evaluate(seq.index((slice(1, 2), slice(0, 13))), mask[1:, :13])
    torch.testing.assert_close(out.values[1, :13], short.values[0], atol=1e-5, rtol=0)
    assert not out.values[1, 13:].any() and not out.values.isnan().any()


SINGLE_STEP_VARIANTS = [
    ("trmrl", {}),
    ("trmrl", {"window_spans_episodes": True, "value_input": "separate", "normalize_observations": True}),
    ("mlp", {}),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "overrides"), SINGLE_STEP_VARIANTS, ids=variant_id)
def test_single_step_evaluation_equals_evaluate(name: str, overrides: dict[str, Any], kind: str) -> None:
    """`evaluate_steps` (PPO's step minibatches) rebuilds each chosen step's window on its own: every step of
    padded two-trial rows, in a scrambled order, gives what `evaluate` over the whole rows gives there."""
    agent = small(name, kind, **overrides)
    if agent.obs_normalizer is not None:
        agent.obs_normalizer.update(torch.randn(50, OBS) * 3 + 2)
    seq = random_trials(3, 40, kind, trial_len=20, p_end=0.15, task_dim=agent.task_dim)
    mask = ones_mask(seq)
    mask[2, 31:] = False
    rows, times = torch.nonzero(mask, as_tuple=True)
    order = torch.randperm(rows.numel(), generator=torch.Generator().manual_seed(0))
    rows, times = rows[order], times[order]
    with torch.no_grad():
        whole = agent.evaluate(seq, mask)
        single = agent.evaluate_steps(seq, mask, rows, times)
    torch.testing.assert_close(params(single.dist), params(whole.dist)[rows, times], atol=1e-5, rtol=0)
    torch.testing.assert_close(single.values, whole.values[rows, times], atol=1e-5, rtol=0)
    actions = whole.dist.sample()
    torch.testing.assert_close(
        single.dist.log_prob(actions[rows, times]),
        whole.dist.log_prob(actions)[rows, times],
        atol=1e-5,
        rtol=0,
    )
    with pytest.raises(ValueError, match="a selected step is padding"):
        agent.evaluate_steps(seq, mask, torch.tensor([0, 2]), torch.tensor([5, 35]))


def test_agents_whose_memory_spans_the_trial_evaluate_whole_trials_only() -> None:
    seq = random_trials(2, 12, "discrete", trial_len=12)
    steps = torch.tensor([0, 1]), torch.tensor([3, 7])
    for name in ("memo", "fct", "rmt", "rl2"):
        agent = small(name, "discrete")
        assert not agent.evaluates_single_steps
        with pytest.raises(NotImplementedError, match="memory spans the trial"):
            agent.evaluate_steps(seq, ones_mask(seq), *steps)


def test_bad_names_and_values_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="valid agents: trmrl, memo, fct, rmt, rl2, mlp"):
        make_agent("transformer", OBS, "discrete", ACT)
    with pytest.raises(ValueError, match=r"unknown hyper-parameter.*d_modle.*valid:.*d_model"):
        make_agent("memo", OBS, "discrete", ACT, d_modle=64)
    with pytest.raises(ValueError, match=r"unknown preset 'maze'.*gridworld, navigation"):
        make_agent("fct", OBS, "discrete", ACT, preset="maze")
    with pytest.raises(ValueError, match="expects int"):
        make_agent("rl2", OBS, "discrete", ACT, hidden_size="big")
    with pytest.raises(ValueError, match="divisible"):
        make_agent("trmrl", OBS, "continuous", ACT, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="summary_length < segment_length"):
        make_agent("memo", OBS, "discrete", ACT, summary_length=64)
    with pytest.raises(ValueError, match="stream_window"):
        make_agent("memo", OBS, "discrete", ACT, stream_window=10)
    with pytest.raises(ValueError, match="action_space_kind"):
        make_agent("mlp", OBS, "box", ACT)
    with pytest.raises(ValueError, match="value_input"):
        make_agent("trmrl", OBS, "continuous", ACT, value_input="both")
    agent = small("memo")
    seq = random_trials(2, 12, "discrete", trial_len=12)
    with pytest.raises(ValueError, match="trial start"):
        agent.step(token_at(seq, 1), agent.initial_state(2))
    skewed = token_at(seq, 0)
    skewed.trial_start = torch.tensor([True, False])
    with pytest.raises(ValueError, match="same for every env"):
        agent.step(skewed, agent.initial_state(2))
    gaps = ones_mask(seq)
    gaps[0, 3] = False
    with pytest.raises(ValueError, match="trailing"):
        agent.evaluate(seq, gaps)
    fct = small("fct", "discrete")
    wrong_action = TokenBatch(
        torch.zeros(2, OBS),
        torch.zeros(2, ACT + 1),
        torch.zeros(2),
        torch.zeros(2),
        torch.ones(2, dtype=torch.bool),
        torch.ones(2, dtype=torch.bool),
    )
    with pytest.raises(ValueError, match="prev_action"):
        fct.step(wrong_action, fct.initial_state(2))


def test_describe_agents_lists_all_six_with_documented_hyperparameters() -> None:
    described = describe_agents()
    assert [a["name"] for a in described] == ["trmrl", "memo", "fct", "rmt", "rl2", "mlp"] == list(AGENTS)
    json.dumps(described)
    for agent in described:
        assert agent["description"]
        assert all(hp["doc"] and "default" in hp for hp in agent["hyperparameters"])
    by_name = {a["name"]: {hp["name"]: hp["default"] for hp in a["hyperparameters"]} for a in described}
    assert by_name["rmt"]["accumulate"] is False and by_name["memo"]["accumulate"] is True
    assert by_name["trmrl"]["wm_size"] == 5 and by_name["trmrl"]["head_hidden"] == [64, 64]


@pytest.mark.parametrize(("name", "preset"), [(n, p) for n, e in AGENTS.items() for p in e.presets])
def test_every_preset_builds_and_steps(name: str, preset: str) -> None:
    kind = "continuous" if name == "trmrl" else "discrete"
    agent = make_agent(name, OBS, kind, ACT, preset=preset)
    out = run(agent, random_trials(2, 3, kind, trial_len=3))[-1]
    assert out.value.shape == (2,)


def test_memo_jitters_its_segment_length_in_training_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memo's training segments are U[0.8, 1.2]·l_seg; `eval`, `record` and the player run the fixed l_seg, as
    both official codes do at inference (docs/reference/memo.md, the 2026-12 audit)."""
    from agents.config import resolve_config
    from agents.evaluation import Policy, evaluate_policy
    from agents.memo import Memo
    from agents.rollout import collect_rollout
    from agents.trainer import initial_agent
    from scenes.registry import make_scene
    from scenes.trials import Trials

    tiny = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "segment_length": 40, "summary_length": 2}
    config = resolve_config("darkroom", "memo", "fast", overrides={"agent_config": tiny})
    scene = make_scene("darkroom")
    agent = initial_agent(config, scene)
    trials = Trials(scene, 2, seed=0)
    drawn = {
        collect_rollout(trials, agent, trials.reset(seed=s), 1, torch.Generator().manual_seed(s))[0].options[
            "segment_length"
        ]
        for s in range(6)
    }
    assert len(drawn) > 1 and all(32 <= n <= 48 for n in drawn)  # jittered per training rollout
    fixed = collect_rollout(trials, agent, trials.reset(seed=0), 1, torch.Generator(), training=False)[0]
    assert fixed.options == {}  # the spec's segment_length
    trials.close()
    asked: list[bool] = []
    original = Memo.rollout_options

    def spy(self: Memo, generator: torch.Generator | None = None, training: bool = True) -> dict[str, Any]:
        asked.append(training)
        return original(self, generator, training)

    monkeypatch.setattr(Memo, "rollout_options", spy)
    evaluate_policy(Policy(config, scene, agent, {"counters": {"env_steps": 0}}), "test", 2)
    assert asked == [False]
