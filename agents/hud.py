"""`record --hud`: a small text overlay on recorded frames (the task, the trial step, the episode return), for
videos without the window's panels. Qt-free: the text is drawn with Pillow's bundled font, so a headless
machine needs no system fonts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:  # agents.player draws the overlay with this module
    from agents.player import Player, PlayerStep

HUD_BACKGROUND = (0, 0, 0, 150)  # a translucent box, so the scene stays visible under the text
HUD_TEXT = (255, 255, 255, 255)
TASK_SEPARATOR = "  "
LINES_PER_FRAME = 32  # the font's line height is the frame height over this, at least MIN_FONT_PX
MIN_FONT_PX = 10


def hud_lines(player: Player, step: PlayerStep | None) -> list[str]:
    """What the overlay of `player`'s next frame says: the task the next step runs on, and the last step taken
    (`step`, None before the first) as the window's status line gives it: its episode and trial step, and the
    episode return with it. In compare mode each agent's episode return, by label."""
    lines = [TASK_SEPARATOR.join(f"{name}={_shown(value)}" for name, value in player.task.items())]
    if step is None:
        return [*lines, "new trial"]
    lines.append(f"episode {step.episode_index} · trial step {step.step_in_trial}")
    if step.partner is None or player.partner is None:
        lines.append(f"episode return {step.episode_return:.1f}")
    else:
        returns = (
            f"{player.label or 'left'} {step.episode_return:.1f}",
            f"{player.partner.label or 'right'} {step.partner.episode_return:.1f}",
        )
        lines.append("episode return " + " · ".join(returns))
    return lines


def draw_hud(frame: np.ndarray, lines: Sequence[str], inset: int = 0) -> np.ndarray:
    """`frame` (H, W, 3 uint8) with `lines` in a translucent box in its top-left corner, `inset` pixels in
    (clear of a border drawn along the edges). A new array; `frame` is untouched."""
    height = frame.shape[0]
    size = max(MIN_FONT_PX, height // LINES_PER_FRAME)
    font = ImageFont.load_default(size=size)
    image = Image.fromarray(frame).convert("RGBA")
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    pad, leading = size // 2, round(size * 1.3)
    room = frame.shape[1] - 2 * (inset + pad)
    lines = [part for line in lines for part in _wrapped(line, room, draw, font)]
    width = max(int(draw.textlength(line, font=font)) for line in lines) if lines else 0
    box = (inset, inset, inset + width + 2 * pad, inset + leading * len(lines) + 2 * pad)
    draw.rectangle(box, fill=HUD_BACKGROUND)
    for i, line in enumerate(lines):
        draw.text((inset + pad, inset + pad + i * leading), line, font=font, fill=HUD_TEXT)
    return np.asarray(Image.alpha_composite(image, overlay).convert("RGB"))


def _wrapped(
    line: str, room: float, draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> list[str]:
    """`line` broken between task parameters into lines at most `room` pixels wide where it can be (a task of
    many parameters, the navigation scenes')."""
    out = [""]
    for word in line.split(TASK_SEPARATOR):
        joined = f"{out[-1]}{TASK_SEPARATOR}{word}" if out[-1] else word
        if out[-1] and draw.textlength(joined, font=font) > room:
            out.append(word)
        else:
            out[-1] = joined
    return out


def _shown(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
