"""PPO over whole trials (Schulman et al. 2017), read top to bottom in the manner of CleanRL's `ppo.py`.

In-context agents learn from sequences, so the update differs from flat PPO in three places:
* advantages run across episode boundaries inside a trial and stop at trial ends (`agents.advantages`);
* log-probs and values are recomputed by the agent's `evaluate` over stored trials from their first token,
  so every memory (TrMRL's windows, Memo's summaries, the FCT context, the GRU state) is rebuilt with the
  current weights (TrMRL §4: "each stored sample keeps its window, so the update re-encodes it");
* minibatches are whole trials (`minibatch_unit = "trial"`): `minibatch_steps` is rounded to a whole number
  of trials (at least one). Agents whose output at a step reads a bounded window only (TrMRL, the MLP:
  `Agent.evaluates_single_steps`) can instead draw `minibatch_steps` single steps from across all trials
  (`minibatch_unit = "step"`), as TrMRL's code does (256 steps on MuJoCo, 32 on Meta-World, each with its
  window); a minibatch then mixes every task of the batch instead of fitting one trial's task at a time.

"Separate policy and value optimisers" (TrMRL's garage setup) are two parameter groups of one AdamW, each with
its own learning rate: Adam keeps its moments per parameter, so that is the same algorithm with one state
dict. With a shared trunk (TrMRL Dir tasks, Memo, FCT) the trunk is in the policy group and receives both
losses' gradients, as in garage's shared-network mode.

Across ranks (DD-PPO, `agents.distributed`; every call there is a no-op in one process): each rank updates on
its own rollout, and after each backward pass the gradients are averaged over ranks, so a minibatch is the union
of every rank's local minibatch and every rank steps identical weights. The advantage normalisation uses the
union's mean and standard deviation, so with equal local batches the update equals one process updating on all
ranks' trials (tested to 1e-5). `minibatch_steps` is per rank, as DD-PPO's `num_mini_batch`: the update makes
the same number of gradient steps at every world size, each over world_size times the data. Whether to stop,
and the approx-KL that ends the epochs early, are agreed by all ranks before they act on them.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import torch
from torch import Tensor
from torch.distributions import Categorical, Distribution, Independent, Normal

from agents.advantages import trial_gae
from agents.base import Agent, EvalOutput
from agents.distributed import average_gradients, mean_across_ranks, sum_across_ranks, world_size
from agents.rollout import Rollout
from scenes.errors import UserError

MINIBATCH_UNITS: tuple[str, ...] = ("trial", "step")
AMP_MODES: tuple[str, ...] = ("off", "bf16")


@dataclass
class PPOConfig:
    """Every PPO hyper-parameter; presets override them. The defaults are CleanRL's `ppo_continuous_action.py`
    except three: 4 epochs (CleanRL's Atari value; 10 there), no value-loss clipping, and a constant learning
    rate (no annealing to zero, so a finished run can be extended with `train --resume DIR --steps N`)."""

    gamma: float = field(default=0.99, metadata={"doc": "discount, applied across episodes of a trial"})
    gae_lambda: float = field(default=0.95, metadata={"doc": "GAE λ"})
    reward_scale: float = field(
        default=1.0,
        metadata={
            "doc": "rewards × this before GAE: the critic learns scaled returns (reported returns are not)"
        },
    )
    clip_coef: float = field(default=0.2, metadata={"doc": "PPO ratio clip ε"})
    policy_lr: float = field(
        default=3e-4, metadata={"doc": "AdamW learning rate of everything but the value head"}
    )
    value_lr: float = field(default=3e-4, metadata={"doc": "AdamW learning rate of the value head"})
    weight_decay: float = field(default=0.0, metadata={"doc": "AdamW decoupled weight decay"})
    adam_eps: float = field(default=1e-5, metadata={"doc": "AdamW ε (CleanRL 1e-5; torch default 1e-8)"})
    update_epochs: int = field(default=4, metadata={"doc": "passes over the rollout per iteration"})
    minibatch_steps: int = field(
        default=256,
        metadata={"doc": "env steps per minibatch (rounded to whole trials when minibatch_unit is 'trial')"},
    )
    minibatch_unit: str = field(
        default="trial",
        metadata={
            "doc": "'trial': minibatches of whole trials (every agent); 'step': single steps drawn from across "
            "trials (agents with a bounded window: trmrl, mlp; TrMRL's code)"
        },
    )
    value_coef: float = field(default=0.5, metadata={"doc": "weight of the value loss"})
    entropy_coef: float = field(default=0.0, metadata={"doc": "weight of the entropy bonus"})
    max_grad_norm: float = field(default=0.5, metadata={"doc": "global gradient-norm clip (0 = off)"})
    normalize_advantages: bool = field(
        default=True, metadata={"doc": "per-minibatch advantage normalisation"}
    )
    clip_value_loss: bool = field(
        default=False, metadata={"doc": "clip value updates like the ratio (CleanRL)"}
    )
    target_kl: float = field(
        default=0.0, metadata={"doc": "stop the epochs once approx-KL exceeds it (0 = off)"}
    )
    bootstrap_trial_end: bool = field(
        default=False,
        metadata={
            "doc": "treat a trial end as a time limit: bootstrap from the value of its last step (the official "
            "navigation trainer's); off: the trial end is terminal"
        },
    )
    sync_fraction: float = field(
        default=1.0,
        metadata={
            "doc": "DD-PPO's straggler cutoff (its sync_frac, 0.6 there): once more than this fraction of ranks "
            "finished their rollout, the others cut theirs short, past a quarter of it (1 = off)"
        },
    )
    anneal_std_to: float = field(
        default=0.0,
        metadata={
            "doc": "TrMRL's --annealing_std: after every update the Gaussian policy's learned log-std moves down "
            "by a fixed amount per env step, reaching this std from init_std at 2/3 of the run's steps "
            "(--min_std 1e-6 there); the gradient moves it too (0 = off)"
        },
    )
    amp: str = field(
        default="off",
        metadata={
            "doc": "'bf16': the update's forward passes in bfloat16 autocast (CUDA only; losses stay float32)"
        },
    )

    def validate(self) -> None:
        """Raise ValueError naming the first value no update can run with."""
        for setting in fields(self):  # the range checks below would let an infinity through (inf > 0)
            value = getattr(self, setting.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise UserError(f"ppo.{setting.name} = {value!r} is out of range")
        if self.amp not in AMP_MODES:
            raise UserError(f"ppo.amp must be one of {AMP_MODES}, got {self.amp!r}")
        if self.minibatch_unit not in MINIBATCH_UNITS:
            raise UserError(
                f"ppo.minibatch_unit must be one of {MINIBATCH_UNITS}, got {self.minibatch_unit!r}"
            )
        checks = {
            "gamma": 0 <= self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "reward_scale": self.reward_scale > 0,
            "clip_coef": self.clip_coef > 0,
            "policy_lr": self.policy_lr > 0,
            "value_lr": self.value_lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "adam_eps": self.adam_eps > 0,
            "update_epochs": self.update_epochs >= 1,
            "minibatch_steps": self.minibatch_steps >= 1,
            "value_coef": self.value_coef >= 0,
            "entropy_coef": self.entropy_coef >= 0,
            "max_grad_norm": self.max_grad_norm >= 0,
            "target_kl": self.target_kl >= 0,
            "sync_fraction": 0 < self.sync_fraction <= 1,
            "anneal_std_to": self.anneal_std_to >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise UserError(f"ppo.{name} = {getattr(self, name)!r} is out of range")


def make_optimizer(agent: Agent, config: PPOConfig) -> torch.optim.AdamW:
    """One AdamW with a "policy" group (all but the value head) and a "value" group (the value head)."""
    value_ids = {id(p) for p in agent.value.parameters()}
    policy_params = [p for p in agent.parameters() if id(p) not in value_ids]
    return torch.optim.AdamW(
        [
            {"params": policy_params, "lr": config.policy_lr, "name": "policy"},
            {"params": list(agent.value.parameters()), "lr": config.value_lr, "name": "value"},
        ],
        eps=config.adam_eps,
        weight_decay=config.weight_decay,
    )


def set_learning_rates(optimizer: torch.optim.Optimizer, config: PPOConfig) -> None:
    """Apply the config's learning rates (after a config edit, or to a restored optimiser)."""
    for group in optimizer.param_groups:
        group["lr"] = config.value_lr if group.get("name") == "value" else config.policy_lr


def anneal_policy_std(agent: Agent, config: PPOConfig, run_fraction: float) -> None:
    """TrMRL's std annealing, after an update that used `run_fraction` of the run's steps.

    The official `GaussianMLPBaseModule.anneal_std` adds log(rate) to the learned log-std at every policy
    reset, with rate = (min_std / init_std) ** (3 / (2 · resets in the run)) (examples/torch/
    transformer_ppo_ml1.py: "reach min step at 2/3 * n_epochs"); per env step that is the shift below. It keeps
    going after 2/3 of the run, and the std is floored at MIN_STD (agents/heads.py) as there at min_std."""
    log_std = agent.policy.log_std
    if not config.anneal_std_to or log_std is None:
        return
    with torch.no_grad():
        log_std.add_(1.5 * math.log(config.anneal_std_to / agent.spec.init_std) * run_fraction)


def _finite(loss: Tensor, agent: Agent) -> bool:
    if not bool(torch.isfinite(loss)):
        return False
    return all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in agent.parameters())


def explained_variance(values: Tensor, returns: Tensor) -> float:
    """1 - Var[R - V] / Var[R] (CleanRL's diagnostic): 1 is a perfect critic, 0 no better than a constant.
    Over every rank's steps."""
    if world_size() > 1:
        var = float(_moments(returns)[1] ** 2)
        residual = float(_moments(returns - values)[1] ** 2)
    else:
        var = float(returns.var())
        residual = float((returns - values).var())
    return float("nan") if var == 0 else 1.0 - residual / var


def _moments(values: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (Bessel-corrected) standard deviation of `values` pooled over every rank (float64 sums)."""
    sums = torch.stack(
        [
            torch.tensor(float(values.numel()), dtype=torch.float64, device=values.device),
            values.double().sum(),
            values.double().square().sum(),
        ]
    )
    n, total, squares = sum_across_ranks(sums).unbind()
    mean = total / n
    var = ((squares - n * mean * mean) / (n - 1).clamp_min(1)).clamp_min(0)
    return mean.to(values.dtype), var.sqrt().to(values.dtype)


def _autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager[object]:
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def float32_distribution(dist: Distribution) -> Distribution:
    """The same policy distribution with float32 parameters (a bfloat16 forward's log-probs would round the
    PPO ratio to 3 significant digits)."""
    if isinstance(dist, Independent):
        return Independent(float32_distribution(dist.base_dist), dist.reinterpreted_batch_ndims)
    if isinstance(dist, Normal):
        return Normal(dist.loc.float(), dist.scale.float())
    if isinstance(dist, Categorical):
        return Categorical(logits=dist.logits.float())
    raise TypeError(f"unsupported action distribution {type(dist).__name__}")


def minibatch_order(units: int, generator: torch.Generator | None) -> Tensor:
    """The order in which one epoch visits the rollout's units (trials or steps)."""
    return torch.randperm(units, generator=generator)


class UpdateInterrupted(Exception):
    """`should_stop` asked `ppo_update` to stop; weights and optimiser are back to their pre-update state."""


def ppo_update(
    agent: Agent,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    config: PPOConfig,
    generator: torch.Generator | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """One PPO update from a rollout of whole trials; returns the update's diagnostics.

    A non-finite loss or gradient restores the weights and optimiser state from before this update, skips
    the rest of it, and reports `nan_skipped = 1`: one bad batch never poisons the run. `should_stop` is
    polled at every minibatch (before its optimiser step): when it returns True on any rank the same restore
    happens and `UpdateInterrupted` is
    raised, so a stop request never waits for a long update nor leaves it half applied.
    """
    advantages, returns = trial_gae(
        rollout.rewards * config.reward_scale,
        rollout.values,
        rollout.trial_end,
        config.gamma,
        config.gae_lambda,
        rollout.bootstrap_values,
        config.bootstrap_trial_end,
    )
    trials = rollout.split_trials()  # (num_trials, steps_per_trial): one row per trial
    advantages = advantages.reshape(trials.rewards.shape)
    returns = returns.reshape(trials.rewards.shape)
    num_trials, trial_length = trials.rewards.shape
    mask = trials.mask
    by_step = config.minibatch_unit == "step"
    # Minibatch sizes and counts come from the nominal trial length, so a rollout cut short by the straggler
    # cutoff runs as many minibatches as every other rank (its last ones may be empty).
    if by_step:  # flat indices row * trial_length + time over every stored step
        units = num_trials * trial_length
        nominal_units = num_trials * rollout.trial_length
        per_minibatch = min(nominal_units, config.minibatch_steps)
    else:
        units = nominal_units = num_trials
        per_minibatch = min(units, max(1, round(config.minibatch_steps / rollout.trial_length)))
    minibatches = math.ceil(nominal_units / per_minibatch)

    last_good = (copy.deepcopy(agent.state_dict()), copy.deepcopy(optimizer.state_dict()))
    agent.train()
    stats: dict[str, list[float]] = {
        k: [] for k in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
    }
    nan_skipped = False
    epochs_run = 0
    parameters = list(agent.parameters())
    for _ in range(config.update_epochs):
        order = minibatch_order(units, generator)
        for start in range(0, minibatches * per_minibatch, per_minibatch):
            chosen = order[start : start + per_minibatch]
            if chosen.numel() == 0:
                # This rank's rollout was cut short (straggler cutoff) and has no steps left for this
                # minibatch: it joins the collectives with nothing, a zero gradient.
                if config.normalize_advantages and world_size() > 1:
                    _moments(advantages.new_zeros(0))
                optimizer.zero_grad(set_to_none=True)
                loss = torch.zeros((), device=agent.device)
            else:
                # `where` indexes the (num_trials, trial_length) tensors: whole rows, or (row, time) pairs.
                where: Tensor | tuple[Tensor, Tensor]
                with _autocast(config.amp, agent.device):
                    if by_step:
                        where = (chosen // trial_length, chosen % trial_length)
                        out = agent.evaluate_steps(trials.tokens, mask, *where)
                    else:
                        where = chosen
                        out = agent.evaluate(trials.tokens.index(chosen), mask[chosen], **trials.options)
                if config.amp != "off":  # the forward in bfloat16; ratios, losses and their sums in float32
                    out = EvalOutput(float32_distribution(out.dist), out.values.float())
                new_log_probs = out.dist.log_prob(trials.actions[where])
                log_ratio = new_log_probs - trials.log_probs[where]
                ratio = log_ratio.exp()
                adv = advantages[where]
                if config.normalize_advantages and adv.numel() * world_size() > 1:
                    mean, std = _moments(adv) if world_size() > 1 else (adv.mean(), adv.std())
                    adv = (adv - mean) / (std + 1e-8)

                policy_loss = torch.max(
                    -adv * ratio, -adv * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
                ).mean()
                if config.clip_value_loss:
                    old = trials.values[where]
                    clipped = old + (out.values - old).clamp(-config.clip_coef, config.clip_coef)
                    value_loss = (
                        0.5
                        * torch.max(
                            (out.values - returns[where]) ** 2, (clipped - returns[where]) ** 2
                        ).mean()
                    )
                else:
                    value_loss = 0.5 * ((out.values - returns[where]) ** 2).mean()
                entropy = out.dist.entropy().mean()
                loss = policy_loss - config.entropy_coef * entropy + config.value_coef * value_loss

                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            # Across ranks (the loss and the stop request as-is in one process): a stop asked for on any rank
            # ends the update on every rank before this minibatch's step.
            loss, stop = average_gradients(parameters, loss, should_stop is not None and should_stop())
            if stop:
                agent.load_state_dict(last_good[0])
                optimizer.load_state_dict(last_good[1])
                agent.eval()
                raise UpdateInterrupted
            if not _finite(loss, agent):
                agent.load_state_dict(last_good[0])
                optimizer.load_state_dict(last_good[1])
                nan_skipped = True
                break
            if config.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
            optimizer.step()

            if chosen.numel() == 0:
                continue
            with torch.no_grad():  # CleanRL's diagnostics: the low-variance KL estimator, clipped share
                stats["approx_kl"].append(float(((ratio - 1) - log_ratio).mean()))
                stats["clip_fraction"].append(float(((ratio - 1).abs() > config.clip_coef).float().mean()))
            stats["policy_loss"].append(policy_loss.item())
            stats["value_loss"].append(value_loss.item())
            stats["entropy"].append(entropy.item())
        if nan_skipped:
            break
        epochs_run += 1
        if config.target_kl > 0:  # every rank takes part, so all agree whether to stop
            last = stats["approx_kl"][-1] if stats["approx_kl"] else 0.0
            if float(mean_across_ranks(torch.tensor([last], dtype=torch.float64))) > config.target_kl:
                break
    agent.eval()

    # Diagnostics: means over every rank's minibatches.
    keys = list(stats)
    sums = sum_across_ranks(torch.tensor([[sum(stats[k]), len(stats[k])] for k in keys], dtype=torch.float64))
    result: dict[str, float] = {
        key: total / count if count else math.nan
        for key, (total, count) in zip(keys, sums.tolist(), strict=True)
    }
    result["explained_variance"] = explained_variance(rollout.values, returns.reshape(rollout.values.shape))
    result["update_epochs"] = float(epochs_run)
    result["nan_skipped"] = float(nan_skipped)
    return result
