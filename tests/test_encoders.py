"""The image encoder (agents/encoders.py) inside every agent: step equals evaluate on image observations,
both parts of an observation matter, gradients reach the convolutions, clear errors, vector agents unchanged.

Step / evaluate helpers come from tests/test_agents.py, so both files check the same contract the same way.
"""

from __future__ import annotations

import dataclasses
import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from test_agents import (
    ACT,
    KINDS,
    OBS,
    SMALL,
    VARIANTS,
    assert_step_equals_evaluate,
    ones_mask,
    params,
    random_trials,
    run,
    token_at,
    variant_id,
)
from torch import Tensor

from agents import AGENTS, Agent, TokenBatch, describe_agents, make_agent, make_spec
from agents.encoders import ImageEncoder, ObservationNormalizer, conv_output_size, split_observation
from agents.trainer import build_agent

IMAGE = (16, 16, 3)
VEC = 6  # the plain vector after the image (GPS, compass, goal one-hot...)
# A narrow CNN keeps these tests fast; the default sizes are checked by shape only.
TINY_CNN: dict[str, Any] = {"image_features": 16, "cnn_channels": (4, 8, 8)}


def image_agent(
    name: str, kind: str = "continuous", image: tuple[int, int, int] = IMAGE, seed: int = 0, **overrides: Any
) -> Agent:
    torch.manual_seed(seed)
    h, w, c = image
    config = {**SMALL[name], **TINY_CNN, **overrides}
    return make_agent(name, h * w * c + VEC, kind, ACT, image_shape=image, **config).eval()


def image_trials(
    batch: int, length: int, kind: str, trial_len: int, image: tuple[int, int, int] = IMAGE, **kw: Any
) -> TokenBatch:
    """`random_trials` with observations replaced by a [0, 1] image followed by a VEC-d vector."""
    seq = random_trials(batch, length, kind, trial_len, **kw)
    g = torch.Generator().manual_seed(7)
    images = torch.rand(batch, length, image[0] * image[1] * image[2], generator=g)
    return dataclasses.replace(seq, obs=torch.cat((images, torch.randn(batch, length, VEC, generator=g)), -1))


def image_part(obs: Tensor, image: tuple[int, int, int] = IMAGE) -> Tensor:
    return obs[..., : image[0] * image[1] * image[2]]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "overrides"), VARIANTS, ids=variant_id)
def test_cached_step_equals_evaluate_on_images(name: str, overrides: dict[str, Any], kind: str) -> None:
    """Every registered agent (and each cache variant test_agents checks) on 16x16x3 images + a vector:
    two 24-step trials in one sequence, random episode ends, through the caches."""
    agent = image_agent(name, kind, **overrides)
    seq = image_trials(3, 48, kind, trial_len=24, task_dim=agent.task_dim)
    assert_step_equals_evaluate(agent, seq, run(agent, seq))


def test_every_registered_agent_is_covered() -> None:
    assert {name for name, _ in VARIANTS} == set(AGENTS)


@pytest.mark.parametrize("name", list(AGENTS))
def test_image_and_vector_parts_both_reach_the_outputs(name: str) -> None:
    agent = image_agent(name, "discrete")
    seq = image_trials(2, 8, "discrete", trial_len=8, task_dim=agent.task_dim)
    new_image = dataclasses.replace(seq, obs=seq.obs.clone())
    image_part(new_image.obs)[:] = torch.rand_like(image_part(seq.obs))
    new_vector = dataclasses.replace(seq, obs=seq.obs.clone())
    new_vector.obs[..., -VEC:] += 1.0
    mask = ones_mask(seq)
    with torch.no_grad():
        feats = agent.features(seq)
        logits = params(agent.evaluate(seq, mask).dist)
        for changed, image_changes in ((new_image, True), (new_vector, False)):
            other = agent.features(changed)
            # Token layout: image features, then the vector, then previous action / reward / done.
            image_same = torch.equal(other[..., :16], feats[..., :16])
            vector_same = torch.equal(other[..., 16 : 16 + VEC], feats[..., 16 : 16 + VEC])
            assert (image_same, vector_same) == (not image_changes, image_changes)
            assert not torch.allclose(params(agent.evaluate(changed, mask).dist), logits)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(AGENTS))
def test_ppo_loss_gradients_reach_the_convolutions(name: str, kind: str) -> None:
    """A clipped-surrogate + value loss on `evaluate` trains the CNN end to end (every conv and the Linear)."""
    agent = image_agent(name, kind).train()
    seq = image_trials(2, 12, kind, trial_len=12, task_dim=agent.task_dim)
    mask = ones_mask(seq)
    mask[1, 9:] = False
    kw = {"segment_length": 6} if name in ("memo", "rmt") else {}  # no random segment draw in train mode
    with torch.no_grad():
        old = agent.evaluate(seq, mask, **kw)
    actions = old.dist.sample()
    old_logp = old.dist.log_prob(actions).detach()
    advantages, returns = torch.randn(2, 12), torch.randn(2, 12)
    dist, values = agent.evaluate(seq, mask, **kw)
    ratio = (dist.log_prob(actions) - old_logp).exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages)
    loss = (-(surrogate * mask).sum() + ((values - returns) ** 2 * mask).sum()) / mask.sum()
    loss.backward()
    encoder = agent.image_encoder
    assert encoder is not None
    for param_name, param in encoder.named_parameters():
        assert param.grad is not None and param.grad.isfinite().all(), param_name
        if param_name.endswith("weight"):
            assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", ["trmrl", "memo", "fct", "rl2", "mlp"])
def test_padded_images_are_never_encoded(name: str) -> None:
    """In `evaluate` the CNN sees only the valid steps, in one batch; NaN images at padded steps never reach
    an output, and the valid outputs equal those of the unpadded sequence."""
    agent = image_agent(name)
    seq = image_trials(2, 16, "continuous", trial_len=16, task_dim=agent.task_dim)
    mask = ones_mask(seq)
    mask[1, 10:] = False
    padded = dataclasses.replace(seq, obs=seq.obs.clone())
    padded.obs[1, 10:] = float("nan")
    batches: list[int] = []
    encoder = agent.image_encoder
    assert encoder is not None
    hook = encoder.register_forward_hook(lambda _m, args, _out: batches.append(args[0].shape[0]))
    with torch.no_grad():
        out = agent.evaluate(padded, mask)
    hook.remove()
    assert batches == [int(mask.sum())]
    with torch.no_grad():
        short = agent.evaluate(seq.index((slice(1, 2), slice(0, 10))), mask[1:, :10])
    torch.testing.assert_close(out.values[1, :10], short.values[0], atol=1e-5, rtol=0)
    assert not out.values.isnan().any() and not out.values[1, 10:].any()


def test_wrong_sizes_raise_clear_errors() -> None:
    agent = image_agent("trmrl", "discrete")
    seq = image_trials(2, 4, "discrete", trial_len=4)
    short = token_at(seq, 0)
    short.obs = short.obs[:, :-1]
    with pytest.raises(ValueError, match=r"obs must have shape \(2, 774\) \(a \(16, 16, 3\) image"):
        agent.step(short, agent.initial_state(2))
    with pytest.raises(ValueError, match=r"obs_dim \(700\) is smaller than the 16x16x3 image \(768"):
        make_agent("mlp", 700, "discrete", ACT, image_shape=IMAGE)
    with pytest.raises(ValueError, match="height and width >= 16"):
        make_agent("mlp", 8 * 8 * 3, "discrete", ACT, image_shape=(8, 8, 3))
    with pytest.raises(ValueError, match="cnn_channels must be 3 positive sizes"):
        make_agent("rl2", 774, "discrete", ACT, image_shape=IMAGE, cnn_channels=(8, 8))
    with pytest.raises(ValueError, match="image_features must be > 0"):
        make_agent("fct", 774, "discrete", ACT, image_shape=IMAGE, image_features=0)
    with pytest.raises(ValueError, match="cannot hold a 16x16x3 image"):
        split_observation(torch.zeros(2, 100), IMAGE)


def test_split_reads_hwc_images_and_keeps_leading_dims() -> None:
    """The first H·W·C entries are an HWC image: pixel (y, x) channel c is entry (y·W + x)·C + c."""
    h, w, c = 16, 32, 4
    hwc = torch.rand(2, 3, h, w, c)
    vector = torch.randn(2, 3, VEC)
    images, rest = split_observation(torch.cat((hwc.flatten(2), vector), -1), (h, w, c))
    assert images.shape == (6, c, h, w) and rest.shape == (2, 3, VEC)
    torch.testing.assert_close(images, hwc.reshape(6, h, w, c).permute(0, 3, 1, 2), atol=0, rtol=0)
    assert images[4, 2, 5, 17] == hwc[1, 1, 5, 17, 2]
    torch.testing.assert_close(rest, vector, atol=0, rtol=0)


@pytest.mark.parametrize(("h", "w"), list(itertools.product((16, 32, 64), repeat=2)))
def test_any_height_and_width_from_16(h: int, w: int) -> None:
    """Default-size encoder at every (H, W) in {16, 32, 64}^2, RGB and RGB-D: the final map is (H/8, W/8)."""
    for channels in (3, 4):
        encoder = ImageEncoder((h, w, channels))
        obs = torch.rand(2, 3, h * w * channels + VEC)
        with torch.no_grad():
            out = encoder.encode_observation(obs)
        assert out.shape == (2, 3, 256 + VEC)
        assert conv_output_size(h) == h // 8 and encoder.fc.in_features == 32 * (h // 8) * (w // 8)
        torch.testing.assert_close(out[..., 256:], obs[..., -VEC:], atol=0, rtol=0)


@pytest.mark.parametrize("size", [16, 32, 64])
def test_agents_step_at_every_size(size: int) -> None:
    image = (size, size, 3)
    agent = image_agent("trmrl", "discrete", image=image)
    seq = image_trials(2, 6, "discrete", trial_len=6, image=image)
    assert_step_equals_evaluate(agent, seq, run(agent, seq))


def test_default_encoder_size_at_64x64() -> None:
    """The documented size: 3 convs 32/64/32, 2048 flattened features at 64x64, about 0.58 M parameters."""
    encoder = ImageEncoder((64, 64, 3))
    assert [m.out_channels for m in encoder.convs if isinstance(m, torch.nn.Conv2d)] == [32, 64, 32]
    assert encoder.fc.in_features == 2048
    assert sum(p.numel() for p in encoder.parameters()) == 582_016


@pytest.mark.parametrize("name", list(AGENTS))
def test_vector_agents_are_unchanged(name: str) -> None:
    """Without image_shape there is no CNN (no parameters, no state-dict keys, so older checkpoints still
    load), the token is the raw observation, and the CNN hyper-parameters change nothing."""
    torch.manual_seed(0)
    agent = make_agent(name, OBS, "discrete", ACT, **SMALL[name])
    torch.manual_seed(0)
    other_cnn = make_agent(
        name, OBS, "discrete", ACT, **SMALL[name], image_features=8, cnn_channels=(2, 2, 2)
    )
    assert agent.image_encoder is None and agent.image_shape is None
    assert not any(key.startswith("image_encoder") for key in agent.state_dict())
    previous_step = ACT + 2 if agent.reads_previous_step else 0  # not the memoryless MLP's
    assert agent.token_dim == OBS + previous_step + agent.task_dim
    for a, b in zip(agent.state_dict().values(), other_cnn.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    image = image_agent(name)
    assert image.image_shape == IMAGE
    assert image.token_dim == 16 + VEC + previous_step + image.task_dim


def test_cnn_hyperparameters_are_listed_and_overridable() -> None:
    for described in describe_agents():
        by_name = {hp["name"]: hp for hp in described["hyperparameters"]}
        assert by_name["image_features"]["default"] == 256
        assert by_name["cnn_channels"]["default"] == [32, 64, 32]
        assert "image" in by_name["cnn_channels"]["doc"]
    spec = make_spec("memo", "gridworld", cnn_channels=[8, 16, 8], image_features=64)
    assert spec.cnn_channels == (8, 16, 8) and spec.image_features == 64
    with pytest.raises(ValueError, match="expects tuple"):
        make_spec("trmrl", cnn_channels="wide")


def test_build_agent_reads_the_scene_image_shape() -> None:
    """The trainer (and so evaluation, the player and the GUI, which all call build_agent) sizes the CNN from
    `Scene.image_shape`."""
    config = SimpleNamespace(agent="rl2", agent_preset="", agent_config={"hidden_size": 8, **TINY_CNN})
    trials = SimpleNamespace(
        observation_space=SimpleNamespace(shape=(16 * 16 * 4 + VEC,)), action_dim=ACT, task_dim=0
    )
    for image_shape in (None, (16, 16, 4)):
        scene = SimpleNamespace(action_kind="discrete", image_shape=image_shape)
        agent = build_agent(config, scene, trials)  # type: ignore[arg-type]
        assert agent.image_shape == image_shape
        assert agent.token_dim == (16 + VEC if image_shape else 16 * 16 * 4 + VEC) + ACT + 2


def test_observation_normalizer_matches_the_statistics_of_all_batches_seen() -> None:
    rng = np.random.default_rng(0)
    normalizer = ObservationNormalizer(3)
    assert torch.equal(normalizer(torch.ones(2, 3)), torch.ones(2, 3))  # fresh: mean 0, variance 1
    batches = [rng.normal([5, -2, 0], [3, 0.1, 1], size=(n, 3)).astype(np.float32) for n in (10, 300, 7)]
    for batch in batches:
        normalizer.update(torch.from_numpy(batch))
    seen = np.concatenate(batches).astype(np.float64)
    np.testing.assert_allclose(normalizer.mean.numpy(), seen.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(normalizer.var.numpy(), seen.var(axis=0), rtol=1e-9)
    out = normalizer(torch.tensor(seen, dtype=torch.float32))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.mean(dim=0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(dim=0, correction=0).numpy(), 1, atol=1e-4)
    far = normalizer(torch.tensor([[1e6, 0.0, 0.0]]))
    assert far[0, 0] == ObservationNormalizer.CLIP
    with pytest.raises(ValueError, match="vector observations"):
        make_agent(
            "mlp", 64 * 64 * 3 + 2, "discrete", 4, image_shape=(64, 64, 3), normalize_observations=True
        )
