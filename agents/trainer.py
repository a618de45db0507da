"""The Trainer: PPO over batched trials, iteration by iteration, with a run directory. Qt-free.

The command line and the GUI drive the same object:
* `iterate()` runs one iteration (collect whole trials, update, log, checkpoint) and returns its metrics;
  `run()` loops until `total_steps`, a stop request, or an iteration limit.
* `pause()` / `resume()` / `stop()` may be called from any thread. Pausing blocks at the next env step;
  stopping ends at the next env step (a partial rollout is dropped) or after the update in progress.
* `events` are psygnal signals (napari's model-events pattern): `metrics(dict)` after each iteration,
  `status(str)` on state changes, `message(str)` for notable events (a skipped non-finite update, a
  checkpoint written). They are emitted from the training thread; GUI code re-emits them on its own.
* `set_task_overrides(**params)` fixes task parameters of the TRAINING distribution (validated against the
  scene's schema) from the next iteration on; `clear_task_overrides()` restores the scene's distribution.

Determinism: every iteration reseeds the trials from (seed, iteration), and action sampling, minibatch
order and Memo's segment lengths draw from the trainer's own torch Generator, whose state is checkpointed as
of the start of the next iteration. So `Trainer.resume(run_dir)` continues bit for bit (tested), and the
GUI's player (another thread, other RNG) cannot perturb training.

Devices and ranks: the agent, its optimiser and the rollouts live on `config.device`; the envs on the CPU.
Launched by torchrun (agents/distributed.py), every rank builds the same trainer and steps its own envs from
its own seed stream (rank 0's is the one-process run's; rank r > 0 derives its seeds from (seed, r)); the
update averages gradients, so every rank holds identical weights after every update. Each iteration's
statistics pool every rank's trials, `env_steps` counts every rank's steps, and all ranks take the same
decisions (stop, checkpoint) from agreed values. Rank 0 alone writes the run directory; a checkpoint holds
every rank's generator state, so `--resume` with the same world size continues bit for bit, and with another
world size continues with the batch per update scaled by the new one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from psygnal import Signal, SignalGroup

from agents.base import Agent
from agents.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from agents.config import TrainConfig, config_from_dict
from agents.devices import resolve_device
from agents.distributed import (
    RankLost,
    RolloutCutoff,
    any_rank,
    broadcast_tensors,
    collective_seconds,
    current_ranks,
    gather_objects,
    sum_across_ranks,
)
from agents.ppo import UpdateInterrupted, anneal_policy_std, make_optimizer, ppo_update, set_learning_rates
from agents.registry import make_agent
from agents.rollout import (
    Rollout,
    RolloutCut,
    collect_rollout,
    collect_rollout_overlapped,
    intra_op_threads,
)
from agents.run_log import RunLog, metric_columns
from agents.statistics import TrialOutcomes, episodes_in_trial, trial_statistics
from scenes.base import Scene, Task, validate_task
from scenes.errors import UserError
from scenes.registry import make_scene
from scenes.trials import Trials
from scenes.trials_process import TrialsProcess

# `latest.pt` is also written this often (seconds of training) and after the first iteration, so a crash
# before the `checkpoint_every`-th iteration loses minutes, not the run.
LATEST_EVERY_S = 180.0
# The straggler cutoff cuts no rollout before this share of it (habitat-baselines' SHORT_ROLLOUT_THRESHOLD).
CUT_AFTER = 0.25
# Ranks read the store (stop requests, the straggler cutoff) at most this often while stepping, not at every
# step: a read is a round trip to the store's host process (torchrun's agent), which on a machine whose cores
# the ranks fill must first be scheduled. A stop request still reaches every rank within 20 ms of stepping.
STORE_POLL_S = 0.02
# Mixed into the seed of the rollout-options stream (rank_seed), apart from the ranks' action streams.
OPTIONS_STREAM = 1


class TrainingStopped(Exception):
    """Raised inside a rollout when `stop()` was requested; the partial rollout is dropped."""


class TrainerEvents(SignalGroup):
    metrics = Signal(dict)
    status = Signal(str)
    message = Signal(str)


def build_agent(config: TrainConfig, scene: Scene, trials: Trials | None = None) -> Agent:
    """The agent a config describes, sized for the scene's observations and actions (read from `trials`, or
    from a one-env probe opened and closed here when the caller has none: evaluation, the player)."""
    if trials is None:
        probe = Trials(scene, 1, seed=0)
        try:
            return build_agent(config, scene, probe)
        finally:
            probe.close()
    obs_dim = int(np.prod(cast(tuple[int, ...], trials.observation_space.shape)))
    agent = make_agent(
        config.agent,
        obs_dim,
        scene.action_kind,
        trials.action_dim,
        config.agent_preset or None,
        image_shape=scene.image_shape,
        **config.agent_config,
    )
    if agent.task_dim not in (0, trials.task_dim):
        raise UserError(
            f"oracle_task_dim must be 0 or this scene's task size ({trials.task_dim}), got {agent.task_dim}"
        )
    agent.eval()
    return agent


def rank_seed(seed: int, rank: int, *more: int) -> int:
    """The seed of rank `rank`'s stream: `seed` itself (with `more` mixed in) on rank 0, so a one-process run
    and rank 0 of a distributed run draw alike; a stream derived from (seed, ..., rank) on the others."""
    if rank == 0 and not more:
        return seed
    entropy = [seed, *more] if rank == 0 else [seed, *more, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def initial_agent(config: TrainConfig, scene: Scene, trials: Trials | None = None) -> Agent:
    """The untrained agent a run of `config` starts from: weights drawn from `config.seed`, the global torch RNG
    left as it was (the trainer and the GUI's player build the very same one)."""
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        return build_agent(config, scene, trials)


def load_weights(agent: Agent, weights: dict[str, Any], source: str) -> None:
    """Load `weights` into `agent`, or a one-line CheckpointError naming `source` if their shapes differ."""
    try:
        agent.load_state_dict(weights)
    except RuntimeError as error:
        # torch's message is a header line, then one line per mismatch: name the last mismatch.
        detail = [line.strip() for line in str(error).splitlines() if line.strip()][-1]
        raise CheckpointError(f"{source} does not match its config: {detail[:200]}") from None


class Trainer:
    """PPO training of one agent on one scene, writing into `run_dir` (see the module docstring)."""

    def __init__(self, config: TrainConfig, run_dir: str | Path | None = None, *, log: bool = True) -> None:
        self.ranks = current_ranks()
        config.world_size = self.ranks.world_size
        self.device = resolve_device(config.device, "device")
        config.device = str(self.device)
        config.validate()
        if config.ppo.amp != "off" and self.device.type != "cuda":
            raise UserError(
                f"ppo.amp = {config.ppo.amp!r} is for CUDA devices; this run's device is {self.device} "
                "(use --device cuda, or drop --ppo-option amp)"
            )
        self.config = config
        self.scene = make_scene(config.scene, **config.scene_options)
        if config.ppo.anneal_std_to and self.scene.action_kind != "continuous":
            raise UserError(
                f"ppo.anneal_std_to anneals a Gaussian policy's std; {config.scene} has discrete actions"
            )
        self.trials: Trials | TrialsProcess
        seed = rank_seed(config.seed, self.ranks.rank)
        if config.env_worker:
            self.agent = initial_agent(config, self.scene)  # the worker starts last (below)
        else:
            self.trials = Trials(self.scene, config.num_envs, seed=seed)
            self.agent = initial_agent(config, self.scene, self.trials)
        self.agent.to(self.device)
        broadcast_tensors(list(self.agent.state_dict().values()))  # every rank starts from rank 0's model
        self.optimizer = make_optimizer(self.agent, config.ppo)
        self.generator = torch.Generator().manual_seed(seed)
        self.num_episodes = episodes_in_trial(self.scene)
        self.events = TrainerEvents()

        self.iteration = 0
        self.env_steps = 0
        self.best_return = -math.inf
        self.elapsed_s = 0.0
        self.task_overrides: Task = {}
        self._pending_overrides: Task | None = None
        self._next_generator_state = self.generator.get_state()
        self._saved_iteration = 0  # the iteration `latest.pt` holds
        self._saved_at = time.monotonic()

        self._lock = threading.Condition()
        self._paused = False
        self._stopping = False
        # Across ranks, stop requests (and DD-PPO's straggler cutoff, ppo.sync_fraction < 1) are read from the
        # store at every env step, not agreed by a collective: a collective per step put the ranks in lockstep
        # and cost ~2 ms of wake-ups per step on a busy 2-core machine (docs/benchmarks.md, "Scaling out").
        self._cutoff = RolloutCutoff(config.ppo.sync_fraction) if self.ranks.world_size > 1 else None
        self._rollout_step = 0
        self._stop_sent = False
        self._polled_at = -math.inf

        self.run_dir = Path(run_dir) if run_dir is not None else None
        # Every rank knows the run directory and takes the same checkpoint decisions; rank 0 alone writes.
        self._run_log = (
            RunLog(self.run_dir, metric_columns(self.scene))
            if log and self.run_dir is not None and self.ranks.is_main
            else None
        )
        if config.env_worker:  # last: nothing after it can fail and leave the process running
            self.trials = TrialsProcess(
                config.scene, config.scene_options, config.num_envs, seed, min(2, config.num_envs)
            )

    @property
    def checkpoint_dir(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "checkpoints"

    # ------------------------------------------------------------------------------------------ control
    def pause(self) -> None:
        with self._lock:
            self._paused = True
        self.events.status.emit("paused")

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()
        self.events.status.emit("running")

    def stop(self) -> None:
        """Ask the loop to end at the next env step or update minibatch; returns at once."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def done(self) -> bool:
        return self.env_steps >= self.config.total_steps

    def _gate(self) -> None:
        """Called before every env step: wait while paused, raise TrainingStopped when asked to stop. Across
        ranks (which do not step in lockstep) stop requests and finished rollouts are read from the store
        every STORE_POLL_S: every rank stops within 20 ms of stepping after a request on any rank, and with
        the straggler cutoff a rank past a quarter of its rollout cuts it short (RolloutCut) once enough
        ranks have finished theirs."""
        with self._lock:
            while self._paused and not self._stopping:
                self._lock.wait()
            stopping = self._stopping
        if self._cutoff is None:
            if stopping:
                raise TrainingStopped
            return
        if stopping:
            if not self._stop_sent:
                self._cutoff.request_stop(self.iteration)
                self._stop_sent = True
            raise TrainingStopped
        self._rollout_step += 1
        now = time.monotonic()
        if now - self._polled_at < STORE_POLL_S:
            return
        self._polled_at = now
        enough, stop = self._cutoff.poll(self.iteration)
        if stop:
            raise TrainingStopped
        if enough and self._rollout_step > CUT_AFTER * self.trials.steps_per_trial:
            raise RolloutCut

    def set_task_overrides(self, **params: Any) -> Task:
        """Fix these task parameters in every training trial from the next iteration on (validated now).
        Edits made before that iteration starts accumulate."""
        with self._lock:
            current = self._pending_overrides if self._pending_overrides is not None else self.task_overrides
            requested = {**current, **params}
            merged = validate_task(
                self.scene.task_params, self.scene.default_task(), requested, "training task"
            )
            overrides = {name: merged[name] for name in requested}
            self._pending_overrides = overrides
        self.events.message.emit(f"training tasks: {overrides} from the next iteration")
        return overrides

    def clear_task_overrides(self) -> None:
        with self._lock:
            self._pending_overrides = {}
        self.events.message.emit("training tasks: the scene's distribution from the next iteration")

    def _apply_task_overrides(self) -> None:
        with self._lock:
            pending, self._pending_overrides = self._pending_overrides, None
        if pending is None:
            return
        self.task_overrides = pending
        self.trials.set_task_overrides(self.task_overrides)

    # ------------------------------------------------------------------------------------------ training
    def _iteration_seed(self) -> int:
        return rank_seed(self.config.seed, self.ranks.rank, self.iteration)

    def collect(self, seed: int) -> Rollout:
        """The iteration's rollout: `trials_per_iteration` trials per env from a reset with `seed`."""
        trials = self.config.trials_per_iteration
        # The agent's rollout options (Memo's jittered segment length) are drawn once per iteration from a
        # stream every rank shares, so a batch split over ranks is segmented as one process would segment it,
        # and no rank's update waits for another's longer segments at each gradient all-reduce.
        options = self.agent.rollout_options(
            torch.Generator().manual_seed(rank_seed(self.config.seed, 0, self.iteration, OPTIONS_STREAM))
        )
        if isinstance(self.trials, TrialsProcess):
            return collect_rollout_overlapped(
                self.trials, self.agent, self.trials.reset(seed), trials, self.generator, self._gate, options
            )[0]
        tokens = self.trials.reset(seed=seed)
        return collect_rollout(
            self.trials, self.agent, tokens, trials, self.generator, self._gate, options=options
        )[0]

    def iterate(self) -> dict[str, float]:
        """One PPO iteration; returns (and emits) its metrics. Raises TrainingStopped if stopped during the
        rollout or the update (the iteration is then dropped and the weights are those from before it)."""
        if self._run_log is not None:
            self._run_log.open(self.config, self.iteration)
        self._apply_task_overrides()
        self.generator.set_state(self._next_generator_state)
        start = time.perf_counter()
        self._rollout_step = 0
        try:
            rollout: Rollout | None = self.collect(self._iteration_seed())
        except TrainingStopped:
            if self._cutoff is None:  # one process
                raise
            rollout = None
        if self._cutoff is not None:  # the ranks finished apart: they agree before the update
            self._cutoff.finished(self.iteration)
            if any_rank(rollout is None or self._stopping):
                raise TrainingStopped
        assert rollout is not None
        rollout_s = time.perf_counter() - start
        synced = collective_seconds()
        try:
            with intra_op_threads(self.config.torch_threads):
                update = ppo_update(
                    self.agent,
                    self.optimizer,
                    rollout,
                    self.config.ppo,
                    self.generator,
                    should_stop=lambda: self._stopping,
                )
        except UpdateInterrupted:
            # Weights and optimiser are as before this iteration, which is dropped whole (as a stopped
            # rollout is), so a resumed run still repeats the original bit for bit.
            raise TrainingStopped from None
        if self.agent.obs_normalizer is not None:
            # After the update, so this iteration acted and was updated under the same statistics.
            self.agent.obs_normalizer.update(rollout.tokens.obs)
        update_s = time.perf_counter() - start - rollout_s
        sync_s = collective_seconds() - synced
        self._next_generator_state = self.generator.get_state()

        # Every rank's trials (gathered: a few (trials, steps) tensors), so the statistics pool them exactly.
        outcomes = TrialOutcomes.concat(gather_objects(TrialOutcomes.of(rollout)))
        steps = int(sum_across_ranks(torch.tensor([rollout.rewards.numel()], dtype=torch.float64)).item())
        anneal_policy_std(self.agent, self.config.ppo, steps / self.config.total_steps)
        self.iteration += 1
        self.env_steps += steps
        self.elapsed_s += rollout_s + update_s
        metrics: dict[str, float] = {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "time_s": self.elapsed_s,
            **trial_statistics(outcomes, self.num_episodes),
            **update,
            "sps": steps / (rollout_s + update_s),
            "rollout_s": rollout_s,
            "update_s": update_s,
            # The update's time in collectives (gradient all-reduces, stop checks; 0 in one process), waits for
            # the slowest rank included.
            "sync_s": sync_s,
        }
        if update["nan_skipped"]:
            self.events.message.emit(
                f"iteration {self.iteration}: non-finite loss or gradient; update skipped, last good weights kept"
            )
        if self._run_log is not None:
            self._run_log.write(metrics)
        if self.run_dir is not None:  # the same decisions on every rank: the metrics and counters are shared
            if metrics["trial_return"] > self.best_return:
                self.best_return = metrics["trial_return"]
                self.save("best")
            overdue = any_rank(self.iteration == 1 or time.monotonic() - self._saved_at >= LATEST_EVERY_S)
            if self.iteration % self.config.checkpoint_every == 0 or self.done or overdue:
                self.save("latest")
        self.events.metrics.emit(metrics)
        return metrics

    def run(
        self, max_iterations: int | None = None, on_metrics: Callable[[dict[str, float]], None] | None = None
    ) -> str:
        """Iterate until done, stopped, or `max_iterations` more iterations; saves `latest` at the end.

        Returns why it ended: "done", "stopped" or "iterations".
        """
        self.events.status.emit("running")
        reason = "iterations"
        lost = False
        try:
            for _ in range(max_iterations if max_iterations is not None else 1 << 62):
                if self.done:
                    reason = "done"
                    break
                if any_rank(self._stopping):
                    reason = "stopped"
                    break
                metrics = self.iterate()
                if on_metrics is not None:
                    on_metrics(metrics)
            else:
                reason = "done" if self.done else "iterations"
        except TrainingStopped:
            reason = "stopped"
        except RankLost:
            # Another rank is gone: no collective can run, so no checkpoint either; the run directory is as
            # of the last one, which `train --resume` continues.
            lost = True
            raise
        except Exception:
            # A fault inside an iteration (a scene or agent error): that iteration is dropped whole, as a stop
            # drops it, and the last finished one is saved below, so the run resumes where it stood.
            reason = "failed"
            raise
        finally:
            if not lost and self.run_dir is not None and self.iteration > self._saved_iteration:
                self.save("latest")
            self.events.status.emit("failed" if lost else reason)
        return reason

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_payload(self) -> dict[str, Any]:
        """Everything a checkpoint holds: weights, optimiser, config, RNG state and counters. Weights come to
        the CPU (a checkpoint loads on any device). In a distributed run every rank must call it together:
        it gathers every rank's generator state."""
        generators = gather_objects(self._next_generator_state)
        return {
            "scene": self.config.scene,
            "agent": self.config.agent,
            "config": self.config.to_dict(),
            "model": {name: tensor.detach().cpu() for name, tensor in self.agent.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "generator": generators[0],
            "rank_generators": generators,
            "counters": {
                "iteration": self.iteration,
                "env_steps": self.env_steps,
                "best_return": self.best_return,
                "elapsed_s": self.elapsed_s,
            },
            "task_overrides": dict(self.task_overrides),
        }

    def save(self, name: str = "latest") -> Path:
        """Write checkpoints/<name>.pt (rank 0; the other ranks hand it their generator state)."""
        path = self.checkpoint_dir / f"{name}.pt"
        payload = self.state_payload()
        if self.ranks.is_main:
            save_checkpoint(path, payload)
        if name == "latest":
            self._saved_iteration = self.iteration
            self._saved_at = time.monotonic()
            if self.ranks.is_main:
                self.events.message.emit(f"checkpoint saved: {path}")
        return path

    def load_state(self, payload: dict[str, Any], source: str = "the checkpoint") -> None:
        """Restore weights, optimiser, RNG and counters from a checkpoint payload made for this config; a
        payload that does not fit is a one-line CheckpointError naming `source`."""
        try:
            weights, optimizer_state, generator_state = (
                payload[k] for k in ("model", "optimizer", "generator")
            )
            counters = payload["counters"]
            iteration = int(counters["iteration"])
            env_steps = int(counters["env_steps"])
            best_return = float(counters["best_return"])
            elapsed_s = float(counters["elapsed_s"])
        except KeyError as missing:
            raise CheckpointError(f"{source} has no {missing.args[0]!r}") from None
        load_weights(self.agent, weights, source)
        try:
            self.optimizer.load_state_dict(optimizer_state)
        except ValueError as error:  # parameter groups of another size
            raise CheckpointError(f"{source}'s optimiser state does not match: {error}") from None
        set_learning_rates(self.optimizer, self.config.ppo)
        # Each rank continues its own stream; a rank the saved run did not have starts one from its rank and
        # the iteration (a resume with more ranks).
        rank_generators = payload.get("rank_generators") or [generator_state]
        if self.ranks.rank < len(rank_generators):
            self._next_generator_state = rank_generators[self.ranks.rank]
        else:
            fresh = torch.Generator().manual_seed(rank_seed(self.config.seed, self.ranks.rank, iteration))
            self._next_generator_state = fresh.get_state()
        self.iteration = iteration
        self.env_steps = env_steps
        self.best_return = best_return
        self.elapsed_s = elapsed_s
        self.task_overrides = dict(payload.get("task_overrides", {}))
        self.trials.set_task_overrides(self.task_overrides)
        self._saved_iteration = self.iteration

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        total_steps: int | None = None,
        *,
        log: bool = True,
        device: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Trainer:
        """Continue the run in `run_dir` from its latest checkpoint, with its own config (`total_steps` may
        extend it; `device` moves it). A missing, truncated or foreign checkpoint is a CheckpointError;
        nothing is written then. `payload`: the checkpoint already read (rank 0 reads it and hands it to
        the other ranks, whose machines may not hold the run directory)."""
        run_dir = Path(run_dir)
        if payload is None:
            payload = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
        return cls.from_payload(
            payload, run_dir, total_steps, log=log, source=f"the checkpoint in {run_dir}", device=device
        )

    @classmethod
    def from_payload(
        cls,
        payload: dict[str, Any],
        run_dir: Path | None,
        total_steps: int | None = None,
        *,
        log: bool = True,
        source: str = "the opened checkpoint",
        device: str | None = None,
    ) -> Trainer:
        """Continue from a checkpoint payload (its config, weights, optimiser, RNG and counters) in `run_dir`:
        its own run, or a new one when fine-tuning an opened checkpoint."""
        config = config_from_dict(payload["config"], source)
        if total_steps is not None:
            config.total_steps = total_steps
        if device is not None:
            config.device = device
        trainer = cls(config, run_dir, log=log)
        try:
            trainer.load_state(payload, source)
        except BaseException:
            trainer.close()
            raise
        return trainer

    def close(self) -> None:
        if self._run_log is not None:
            self._run_log.close()
        self.trials.close()
