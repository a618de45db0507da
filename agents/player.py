"""The Player: one policy acting in one environment, for watching, editing and recording. Qt-free.

The GUI's player thread owns a Player (and so its environment and renderer: GL contexts belong to one
thread); `record` drives one headless. The player keeps its own torch Generator, so watching never changes
a training run's random stream.

Task edits (`set_task`) apply from the next step, mid-episode, and stay pinned: later trials reuse the edited
task until `unpin_task()` returns to the scene's distribution, so an edit is something you can watch the
agent adapt to rather than something the next trial forgets.

Compare mode (`attach_partner`): a second player, of another agent on the same scene and seed, acts in lockstep
with this one. Both draw the same task sequence (their trials share the seed and a trial is a fixed number of
steps), every control (an edit, a reset, unpinning, deterministic actions) reaches both at the same step, and
`render` shows both side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import Agent, StepTrace
from agents.hud import draw_hud, hud_lines
from agents.rollout import act
from scenes.base import EnvList, Scene, Split, Task
from scenes.errors import UserError
from scenes.trials import Trials
from scenes.video import VideoWriter


@dataclass
class PlayerStep:
    """What one step did (env 0 of a batch of one)."""

    reward: float
    episode_return: float  # so far in this episode, this step included
    trial_return: float
    step_in_trial: int  # of the step just taken
    episode_index: int
    episode_end: bool
    trial_end: bool
    task: Task  # the task this step ran on
    trace: StepTrace | None
    info: dict[str, Any] = field(default_factory=dict)
    partner: PlayerStep | None = None  # compare mode: the other agent's step, taken in lockstep with this one


class Player:
    """Runs `agent` on `scene` one step at a time; see the module docstring."""

    def __init__(
        self,
        scene: Scene,
        agent: Agent,
        *,
        task: Task | None = None,
        seed: int = 0,
        split: Split = "train",
        deterministic: bool = False,
        label: str = "",
    ) -> None:
        self.scene = scene
        self.label = label  # what the agent is, for captions (compare mode names both agents)
        self.agent = agent.eval()
        self.env = scene.make_env(task)
        self.trials = Trials(scene, 1, seed=seed, split=split, batch=EnvList([self.env]))
        self.frame_rate = float(self.env.metadata.get("render_fps", 30))
        self.generator = torch.Generator().manual_seed(seed)
        self.partner: Player | None = None
        self.deterministic = deterministic
        self._pending_weights: dict[str, torch.Tensor] | None = None
        self.pinned_task: Task | None = None
        if task is not None:
            self._pin(dict(task))
        self.reset()

    # --------------------------------------------------------------------------------------------- control
    @property
    def deterministic(self) -> bool:
        return self._deterministic

    @deterministic.setter
    def deterministic(self, on: bool) -> None:
        self._deterministic = on
        if self.partner is not None:
            self.partner.deterministic = on

    def attach_partner(self, partner: Player) -> None:
        """Compare mode: `partner` (a fresh player of another agent, built with this player's seed) acts in
        lockstep with this one from now on. UserError if it plays another scene or the two are not at the same
        point (both must be fresh: at the first step of their first trial, on the same task)."""
        if partner.scene.id != self.scene.id:
            raise UserError(f"--compare: the agent to compare plays {partner.scene.id}, not {self.scene.id}")
        if partner.scene.steps_per_trial != self.scene.steps_per_trial:
            raise UserError(
                f"--compare: the agents' trials last {self.scene.steps_per_trial} and "
                f"{partner.scene.steps_per_trial} steps (other scene options); lockstep needs the same"
            )
        if self.tokens.step_in_trial != 0 or partner.tokens.step_in_trial != 0:
            raise ValueError("attach_partner needs two players at the start of a trial")
        if self.pinned_task is not None:
            partner.set_task(**self.pinned_task)
        if partner.task != self.task:  # other seeds, or scene options that change the task distribution
            raise UserError(
                f"--compare: the agents' first tasks differ ({self.task} and {partner.task}): lockstep needs the "
                "same seed and task distribution"
            )
        partner.deterministic = self.deterministic
        self.partner = partner

    def reset(self) -> None:
        """Start a new trial (memory cleared; the pinned task, or a new one from the distribution)."""
        self._apply_pending_weights()
        self.tokens = self.trials.reset()
        self.state = self.agent.initial_state(1)
        self.episode_return = 0.0
        self.trial_return = 0.0
        if self.partner is not None:
            self.partner.reset()

    def set_task(self, **params: Any) -> Task:
        """Edit the task from the next step on (validated: a bad value raises ValueError, nothing changes)."""
        self.trials.set_task(0, **params)
        task = self.task
        self._pin(task)
        if self.partner is not None:  # the same scene: what this player took, the partner takes
            self.partner.set_task(**params)
        return task

    def unpin_task(self) -> None:
        """Later trials draw their task from the scene's distribution again."""
        self.pinned_task = None
        self.trials.set_task_overrides({})
        if self.partner is not None:
            self.partner.unpin_task()

    def _pin(self, task: Task) -> None:
        self.pinned_task = dict(task)
        self.trials.set_task_sampler(lambda rng: dict(self.pinned_task or {}))

    @property
    def task(self) -> Task:
        return self.trials.tasks()[0]

    def load_weights(self, state_dict: dict[str, torch.Tensor]) -> None:
        """New weights (e.g. from training), taken at the next trial start so no trial mixes two policies. A
        partner keeps its own: it is what this agent is compared with."""
        self._pending_weights = {k: v.detach().clone() for k, v in state_dict.items()}

    def _apply_pending_weights(self) -> None:
        """Take the pending weights; weights that do not load are dropped (raised once, not at every trial)."""
        pending, self._pending_weights = self._pending_weights, None
        if pending is not None:
            self.agent.load_state_dict(pending)

    # --------------------------------------------------------------------------------------------- acting
    def step(self, trace: bool = False) -> PlayerStep:
        """Act once (and the partner, whose step is `partner` of the one returned). After a trial's last step
        the next trial begins (pending weights are taken then)."""
        if self.tokens.trial_start[0] and self._pending_weights is not None:
            self._apply_pending_weights()
            self.state = self.agent.initial_state(1)
        task = self.task
        _, out, action, _ = act(
            self.agent, self.tokens, self.state, self.generator, self.deterministic, trace
        )
        step_trace = out.trace if out.trace is None else out.trace.to(torch.device("cpu"))
        self.state = out.state
        step_in_trial = self.tokens.step_in_trial
        episode_index = int(self.tokens.episode_index[0])
        self.tokens, result = self.trials.step(action.cpu().numpy())
        reward = float(result.reward[0])
        self.episode_return += reward
        self.trial_return += reward
        step = PlayerStep(
            reward=reward,
            episode_return=self.episode_return,
            trial_return=self.trial_return,
            step_in_trial=step_in_trial,
            episode_index=episode_index,
            episode_end=bool(result.episode_end[0]),
            trial_end=result.trial_end,
            task=task,
            trace=step_trace,
            info={k: np.asarray(v)[0].item() for k, v in result.info.items() if np.asarray(v).ndim == 1},
            partner=None if self.partner is None else self.partner.step(trace),
        )
        if step.episode_end:
            self.episode_return = 0.0
        if step.trial_end:
            self.trial_return = 0.0
            self.state = self.agent.initial_state(1)
        return step

    def render(self, width: int = 640, height: int = 480) -> np.ndarray:
        """The env's frame; with a partner, both `width` × `height` side by side (this player's on the left)."""
        frame = self.env.render_frame(width, height)
        if self.partner is None:
            return frame
        return side_by_side(frame, self.partner.env.render_frame(width, height))

    def close(self) -> None:
        self.trials.close()
        if self.partner is not None:
            self.partner.close()


COMPARE_DIVIDER_PX = 4
COMPARE_DIVIDER = np.array([16, 17, 22], dtype=np.uint8)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two frames of one height as one, a thin dark divider between them (a compare recording's frame)."""
    divider = np.empty((left.shape[0], COMPARE_DIVIDER_PX, 3), dtype=np.uint8)
    divider[:] = COMPARE_DIVIDER
    return np.concatenate([left, divider, right], axis=1)


EDIT_HIGHLIGHT_S = 1.0  # how long a recording marks a task edit with a coloured border
EDIT_COLOUR = np.array([255, 196, 0], dtype=np.uint8)


def record_policy(
    player: Player,
    path: str | Path,
    seconds: float,
    edits: list[tuple[float, Task]] | None = None,
    size: tuple[int, int] = (640, 480),
    hud: bool = False,
) -> tuple[Path, int]:
    """Record `seconds` of the player acting to an MP4 at the env's frame rate (one frame per env step).

    `edits` are (time in seconds, task parameters) applied mid-episode when the video reaches that time; the
    frames for `EDIT_HIGHLIGHT_S` after an edit get a coloured border so the change is visible. `size` is one
    agent's view: with a partner the video holds both side by side. `hud`: each frame carries a small overlay of
    the task, the trial step and the episode return (`agents.hud`). Returns the path and the number of frames
    written.
    """
    fps = player.frame_rate
    total = max(1, round(seconds * fps))
    schedule = sorted(((round(t * fps), dict(params)) for t, params in edits or []), key=lambda e: e[0])
    highlight_until = -1
    border = max(4, size[0] // 80)
    last: PlayerStep | None = None
    video_size = size if player.partner is None else (2 * size[0] + COMPARE_DIVIDER_PX, size[1])
    with VideoWriter(path, fps, video_size) as video:
        for index in range(total):
            while schedule and schedule[0][0] <= index:
                player.set_task(**schedule.pop(0)[1])
                highlight_until = index + round(EDIT_HIGHLIGHT_S * fps)
            frame = player.render(*size)
            if index < highlight_until:
                frame = frame.copy()
                for region in (np.s_[:border], np.s_[-border:], np.s_[:, :border], np.s_[:, -border:]):
                    frame[region] = EDIT_COLOUR
            if hud:
                frame = draw_hud(frame, hud_lines(player, last), inset=border)
            video.write(frame)
            last = player.step()
    return video.path, video.frames
