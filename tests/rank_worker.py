"""One rank of the distributed tests, started by tests/test_distributed.py as torchrun would start it: the
environment holds RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT.

    python tests/rank_worker.py update INPUT OUTPUT     one PPO update on this rank's rollout of INPUT
    python tests/rank_worker.py trainer CONFIG OUTPUT   a few Trainer iterations; rank 0 writes every rank's weights;
                                                        exits 3 if the process group outlives `shutdown`
"""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import distributed
from agents.config import config_from_dict
from agents.ppo import PPOConfig, make_optimizer, ppo_update
from agents.trainer import Trainer, build_agent
from scenes.registry import make_scene


def update(input_path: str, output_path: str) -> None:
    ranks = distributed.init_from_environment(torch.device("cpu"))
    data = torch.load(input_path, weights_only=False)
    config = config_from_dict(data["config"], "the test config")
    agent = build_agent(config, make_scene(config.scene, **config.scene_options))
    agent.load_state_dict(data["initial"])
    optimizer = make_optimizer(agent, config.ppo)
    generator = torch.Generator().manual_seed(data["order_seed"])  # the same minibatch order on each rank
    rollout = data["rollouts"][ranks.rank]
    diagnostics = ppo_update(agent, optimizer, rollout, PPOConfig(**data["ppo"]), generator)
    if agent.obs_normalizer is not None:
        agent.obs_normalizer.update(rollout.tokens.obs)
    weights = distributed.gather_objects(agent.state_dict())
    if ranks.is_main:
        torch.save({"weights": weights, "diagnostics": diagnostics}, output_path)
    distributed.shutdown()


def train(config_path: str, output_path: str) -> None:
    ranks = distributed.init_from_environment(torch.device("cpu"))
    group = weakref.ref(torch.distributed.group.WORLD)
    data = torch.load(config_path, weights_only=False)
    trainer = Trainer(config_from_dict(data["config"], "the test config"), None, log=False)
    history = [trainer.iterate() for _ in range(data["iterations"])]
    weights = distributed.gather_objects(trainer.agent.state_dict())
    trainer.close()
    if ranks.is_main:
        torch.save({"weights": weights, "history": history}, output_path)
    distributed.shutdown()
    gc.collect()
    if group() is not None:  # its gloo threads would live into interpreter shutdown (agents/distributed.py)
        print(
            f"rank {ranks.rank}: the default process group outlived distributed.shutdown()", file=sys.stderr
        )
        sys.exit(3)


if __name__ == "__main__":
    mode, first, second = sys.argv[1:4]
    {"update": update, "trainer": train}[mode](first, second)
