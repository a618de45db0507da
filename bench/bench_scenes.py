"""Raw environment throughput per scene family: one env, a batch, and the batch inside the trial wrapper.

    MUJOCO_GL=egl python bench/bench_scenes.py [--seconds 2] [--scenes halfcheetah-vel,dark-key-to-door]

Prints Markdown tables (paste them into docs/benchmarks.md with the date and machine). Random actions are drawn
before timing so only stepping (and the resets it triggers) is measured. Frames per second of `render_frame`
are measured at 64×64 and 480×480 for the MuJoCo scenes. A second table measures the navigation scene's
batched head cameras alone: every env's camera in one offscreen buffer (`CameraTiles`, what objnav-apartment
uses) against one `mujoco.Renderer` per env, in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import mujoco
import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

from scenes import make_scene, scene_ids
from scenes.objnav import CELL, Apartment
from scenes.rendering import CameraTiles
from scenes.trials import Trials

BATCH = {"dark-key-to-door": 4096, "darkroom": 4096}  # NumPy-vectorised scenes; MuJoCo scenes use 20 (TrMRL)


def rate(step: Callable[[], int], seconds: float) -> float:
    """Steps per second of `step` (which returns how many env-steps it made), over about `seconds`."""
    step()  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    return done / (time.perf_counter() - start)


def random_actions(space: gym.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    if hasattr(space, "n"):
        return rng.integers(0, space.n, size=(n,))
    return rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(np.float32)


def bench_scene(scene_id: str, seconds: float) -> dict[str, float | int | str]:
    scene = make_scene(scene_id)
    rng = np.random.default_rng(0)
    env = scene.make_env()
    env.reset(seed=0)
    single_actions = random_actions(env.action_space, 1024, rng)
    counter = {"i": 0}

    def single() -> int:
        for _ in range(64):
            _, _, terminated, truncated, _ = env.step(single_actions[counter["i"] % 1024])
            counter["i"] += 1
            if terminated or truncated:
                env.reset()
        return 64

    row: dict[str, float | int | str] = {"scene": scene_id, "single": rate(single, seconds)}

    n = BATCH.get(scene_id, 20)
    batch = scene.make_batch(n, [scene.sample_task(rng) for _ in range(n)])
    batch.reset(np.arange(n))
    batch_actions = [random_actions(batch.single_action_space, n, rng) for _ in range(16)]

    def batched() -> int:
        for k in range(8):
            _, _, terminated, truncated, _ = batch.step(batch_actions[k])
            ended = np.flatnonzero(terminated | truncated)
            if ended.size:
                batch.reset(ended)
        return 8 * n

    row["batch"] = n
    row["batched"] = rate(batched, seconds)
    batch.close()

    trials = Trials(scene, num_envs=n, seed=0)
    trials.reset()

    def in_trials() -> int:
        for k in range(8):
            trials.step(batch_actions[k])
        return 8 * n

    row["trials"] = rate(in_trials, seconds)
    trials.close()

    if scene.action_kind == "continuous":
        for size in (64, 480):
            row[f"fps{size}"] = rate(lambda s=size: (env.render_frame(s, s), 1)[1], seconds / 2)
    else:
        row["fps480"] = rate(lambda: (env.render_frame(480, 480), 1)[1], seconds / 2)
    env.close()
    return row


def bench_cameras(num_envs: int, size: int, depth: bool, seconds: float) -> tuple[float, float]:
    """Head-camera frames/s of `num_envs` different apartments: tiled in one buffer vs a Renderer per env."""
    views, renderers = [], []
    for seed in range(num_envs):
        apartment = Apartment(seed, 2, 3, 15)
        model = mujoco.MjModel.from_xml_string(apartment.mjcf())
        model.vis.global_.offwidth = model.vis.global_.offheight = max(size, 64)
        data = mujoco.MjData(model)
        iy, ix = np.argwhere(apartment.passable)[len(apartment.objects)]
        data.mocap_pos[0] = ((ix + 0.5) * CELL, (iy + 0.5) * CELL, 0.0)
        mujoco.mj_kinematics(model, data)
        mujoco.mj_camlight(model, data)
        views.append((model, data, CameraTiles.scene_for(model), 0, size))
        renderer = mujoco.Renderer(model, size, size)
        for flag in (
            mujoco.mjtRndFlag.mjRND_SHADOW,
            mujoco.mjtRndFlag.mjRND_REFLECTION,
            mujoco.mjtRndFlag.mjRND_SKYBOX,
        ):
            renderer.scene.flags[flag] = False
        if depth:
            renderer.enable_depth_rendering()
        renderers.append((renderer, data))
    tiles = CameraTiles()
    near_far = (0.05, 30.0) if depth else None

    def tiled() -> int:
        tiles.render(views, near_far)
        return num_envs

    def per_env() -> int:
        for renderer, data in renderers:
            renderer.update_scene(data, camera=0)
            renderer.render()
        return num_envs

    result = rate(tiled, seconds), rate(per_env, seconds)
    tiles.close()
    for renderer, _ in renderers:
        renderer.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing window per measurement")
    parser.add_argument("--scenes", default=",".join(scene_ids()), help="comma-separated scene ids")
    parser.add_argument("--cameras-only", action="store_true", help="only the navigation camera table")
    args = parser.parse_args()
    print(
        f"# scenes benchmark — {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, MUJOCO_GL={os.environ['MUJOCO_GL']}\n"
    )
    print("| head cameras | envs | size | tiled, frames/s | Renderer per env, frames/s | tiled / per env |")
    print("|---|---:|---:|---:|---:|---:|")
    for num_envs, size, depth in ((16, 64, False), (16, 64, True), (64, 64, False), (16, 128, False)):
        tiled, per_env = bench_cameras(num_envs, size, depth, args.seconds)
        kind = "RGB-D" if depth else "RGB"
        print(
            f"| {kind} | {num_envs} | {size} | {tiled:,.0f} | {per_env:,.0f} | {tiled / per_env:.2f} |",
            flush=True,
        )
    if args.cameras_only:
        return
    print()
    print(
        "| scene | one env, steps/s | batch | batched, env-steps/s | in Trials, env-steps/s "
        "| frames/s 64² | frames/s 480² |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for scene_id in args.scenes.split(","):
        try:
            r = bench_scene(scene_id, args.seconds)
        except ValueError as error:  # an optional backend that is not installed (objnav-habitat)
            print(f"| {scene_id} | not run: {str(error).split(':')[0]} |", flush=True)
            continue
        fps64 = f"{r['fps64']:,.0f}" if "fps64" in r else "–"
        print(
            f"| {r['scene']} | {r['single']:,.0f} | {r['batch']} | {r['batched']:,.0f} | {r['trials']:,.0f} "
            f"| {fps64} | {r['fps480']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
