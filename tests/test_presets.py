"""The preset table (agents/presets.toml) and its resolver: the table's integrity, and the matching rules on a
small table of known answer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agents.config import PRESETS_TABLE, PresetTable, TrainConfig, preset_values, resolve_config
from agents.registry import AGENTS
from scenes.registry import SCENES


def test_every_row_names_known_presets_scenes_agents_and_config_keys() -> None:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    listed = [scene for scenes in PRESETS_TABLE.families.values() for scene in scenes]
    assert sorted(listed) == sorted(SCENES), "every scene in exactly one family"
    for number, row in enumerate(PRESETS_TABLE.rows):
        presets = row.get("preset", "*")
        for preset in [presets] if isinstance(presets, str) else presets:
            assert preset == "*" or preset in PRESETS_TABLE.presets, (number, preset)
        for where in row.get("where", []):
            assert where in SCENES or where in PRESETS_TABLE.families, (number, where)
        assert set(row.get("agents", [])) <= set(AGENTS), number
        assert set(row) - {"preset", "where", "agents"} <= fields, number
        assert set(row) - {"preset", "where", "agents"}, f"row {number} sets nothing"


@pytest.mark.parametrize("preset", list(PRESETS_TABLE.presets))
def test_every_preset_resolves_exactly_where_it_is_defined(preset: str) -> None:
    for scene in SCENES:
        for agent in AGENTS:
            if PRESETS_TABLE.defined(preset, scene, agent):
                config = resolve_config(scene, agent, preset)  # the agent registry preset named exists, ...
                assert config.preset == preset
            else:
                with pytest.raises(ValueError, match=f"preset '{preset}' is not defined for agent '{agent}'"):
                    resolve_config(scene, agent, preset)
    assert preset != "paper" or not PRESETS_TABLE.defined("paper", "darkroom", "trmrl")


def test_rows_match_by_preset_family_scene_and_agent_and_later_rows_win(tmp_path: Path) -> None:
    (tmp_path / "presets.toml").write_text(
        """
[families]
grid = ["darkroom", "dark-key-to-door"]
[presets.quick]
about = "x"
[presets.strict]
about = "y"
defined_for = { memo = ["grid"] }
[[rows]]
preset = "*"
num_envs = 1
[[rows]]
preset = ["quick", "strict"]
where = ["grid"]
num_envs = 2
ppo = { gamma = 0.5, clip_coef = 0.1 }
[[rows]]
preset = "quick"
where = ["darkroom"]
agents = ["mlp"]
ppo = { gamma = 0.25 }
"""
    )
    table = PresetTable.load(tmp_path / "presets.toml")
    assert table.family("darkroom") == "grid" and table.family("bandit") == "bandit"

    def merged(preset: str, scene: str, agent: str) -> dict:
        values: dict = {}
        for _, row in table.matching_rows(preset, scene, agent):
            for key, value in row.items():
                values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
        return values

    assert merged("quick", "darkroom", "mlp") == {"num_envs": 2, "ppo": {"gamma": 0.25, "clip_coef": 0.1}}
    assert merged("quick", "darkroom", "memo") == {"num_envs": 2, "ppo": {"gamma": 0.5, "clip_coef": 0.1}}
    assert merged("strict", "bandit", "mlp") == {"num_envs": 1}
    labels = [label for label, _ in table.matching_rows("quick", "darkroom", "mlp")]
    assert labels[-1] == "presets.toml [quick | darkroom | mlp]"
    assert table.defined("strict", "dark-key-to-door", "memo") and not table.defined(
        "strict", "bandit", "memo"
    )
    assert not table.defined("strict", "darkroom", "mlp") and table.defined("quick", "bandit", "mlp")


def test_an_unknown_preset_is_one_line_naming_the_valid_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown preset .fastest.; valid presets: fast, paper, amago, default"
    ):
        preset_values("fastest", "darkroom", "mlp")
