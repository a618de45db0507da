"""The shipped pretrained agents: present, small, loadable, and still reaching their recorded scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.evaluation import evaluate_policy, load_policy
from agents.pretrained import MANIFEST, PRETRAINED_DIR, PretrainedAgent, find_pretrained, pretrained_agents

SHIPPED = pretrained_agents()


@pytest.mark.parametrize(("scene", "agent"), [("halfcheetah-vel", "trmrl"), ("dark-key-to-door", "memo")])
def test_the_mission_agents_ship_pretrained_and_small(scene: str, agent: str) -> None:
    entry = find_pretrained(scene, agent, "fast")
    assert entry is not None, f"no pretrained {agent} on {scene} in {PRETRAINED_DIR / MANIFEST}"
    assert entry.path.stat().st_size < 5_000_000
    assert entry.commit != "unknown" and entry.command.startswith("python main.py train")


@pytest.mark.parametrize("entry", SHIPPED, ids=[f"{e.agent}-{e.scene}" for e in SHIPPED])
def test_a_pretrained_agent_still_reaches_its_recorded_score(entry: PretrainedAgent) -> None:
    torch.set_num_threads(1)
    policy = load_policy(entry.path)
    assert (policy.config.scene, policy.config.agent) == (entry.scene, entry.agent)
    assert int(policy.checkpoint["counters"]["env_steps"]) == entry.env_steps
    check = entry.check
    result = evaluate_policy(
        policy, check["split"], check["trials"], seed=check["seed"], deterministic=check["deterministic"]
    )
    assert result["trial_return"]["mean"] == pytest.approx(check["trial_return"], abs=check["tolerance"])


def test_find_pretrained_reads_the_manifest_and_needs_the_file(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(
        '[[agent]]\nfile = "a.pt"\nscene = "bandit"\nagent = "mlp"\npreset = "fast"\n'
        'command = "python main.py train"\ncommit = "abc"\nenv_steps = 10\n'
        "[agent.check]\ntrial_return = 1.0\n"
    )
    assert find_pretrained("bandit", "mlp", "fast", tmp_path) is None  # listed, but the file is missing
    (tmp_path / "a.pt").write_bytes(b"")
    found = find_pretrained("bandit", "mlp", "fast", tmp_path)
    assert found is not None and found.path == tmp_path / "a.pt" and found.check == {"trial_return": 1.0}
    assert find_pretrained("bandit", "rl2", "fast", tmp_path) is None
    assert find_pretrained("bandit", "mlp", "paper", tmp_path) is None
    (tmp_path / MANIFEST).write_text('[[agent]]\nfile = "a.pt"\n')
    with pytest.raises(ValueError, match="malformed"):
        find_pretrained("bandit", "mlp", "fast", tmp_path)
    assert pretrained_agents(tmp_path / "nowhere") == []
