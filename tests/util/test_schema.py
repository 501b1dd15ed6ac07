"""Typed, ranged configs: every key of every shipped env, agent and engine schema refuses a wrong type and an
out-of-range value with an error naming the file and the key (generated from the schemas, so a new key is
covered without a new test), and the shipped configs themselves validate."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from mimickit.engines.engine import ENGINE_REGISTRY
from mimickit.envs.env_builder import ENV_REGISTRY
from mimickit.learning.agent_builder import AGENT_REGISTRY
from mimickit.learning.low_level import HLC_SCHEMA
from mimickit.util.config import ConfigError, load_yaml
from mimickit.util.schema import Field, bad_values, describe, validate

DATA = Path(__file__).resolve().parents[2] / "data"


def _class(path: str) -> type:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _shipped(folder: str, name_key: str) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted((DATA / folder).glob("*.yaml")):
        found.setdefault(load_yaml(path).get(name_key), []).append(path)
    return found


ENV_FILES = _shipped("envs", "env_name")
AGENT_FILES = _shipped("agents", "agent_name")
SCHEMAS = ([(f"env:{name}", cls.SCHEMA, ENV_FILES.get(name, [None])[0]) for name, cls in ENV_REGISTRY.items()]
           + [("env:ase_hlc", HLC_SCHEMA, ENV_FILES["ase_hlc"][0])]
           + [(f"agent:{name}", _class(path).SCHEMA, AGENT_FILES[name][0]) for name, path in AGENT_REGISTRY.items()]
           + [(f"engine:{name}", _class(path).SCHEMA, DATA / "engines" / f"{name}_engine.yaml")
              for name, path in ENGINE_REGISTRY.items()])


def _cases() -> list:
    """(schema id, base config file, key path, bad value) for every key with something to refuse, nested mappings
    included."""
    cases = []

    def walk(schema_id: str, root: dict[str, Field], level: dict[str, Field], base: Path | None,
             prefix: tuple[str, ...]) -> None:
        for key, field in level.items():
            for value in bad_values(field):
                cases.append(pytest.param(schema_id, root, base, prefix + (key,), value,
                                          id=f"{schema_id}-{'.'.join(prefix + (key,))}-{value!r}"))
            if field.schema is not None:
                walk(schema_id, root, field.schema, base, prefix + (key,))

    for schema_id, schema, base in SCHEMAS:
        walk(schema_id, schema, schema, base, ())
    return cases


def test_every_registered_class_has_a_shipped_config_to_test_against():
    missing = [schema_id for schema_id, _, base in SCHEMAS if base is None and schema_id != "env:char"]
    assert not missing


@pytest.mark.parametrize(("schema_id", "schema", "base"), [pytest.param(*s, id=s[0]) for s in SCHEMAS
                                                           if s[2] is not None])
def test_shipped_configs_validate(schema_id, schema, base):
    for path in ENV_FILES.get(schema_id.split(":")[1], []) + AGENT_FILES.get(schema_id.split(":")[1], []) + [base]:
        checked = validate(load_yaml(path), schema, str(path))
        assert set(checked) == {k for k, f in schema.items() if not f.ignored}  # every default filled in


@pytest.mark.parametrize(("schema_id", "schema", "base", "key_path", "value"), _cases())
def test_each_key_refuses_a_wrong_type_and_an_out_of_range_value(schema_id, schema, base, key_path, value):
    config = load_yaml(base) if base is not None else {}
    if schema_id == "env:char":  # no shipped char env: a minimal one
        config = {"env_name": "char", "char_file": "x.xml", "episode_length": 1.0, "global_obs": False}
    node, sub_schema = config, schema
    for key in key_path[:-1]:  # fill a nested mapping the base config leaves out with its required keys
        field = sub_schema[key]
        node = node.setdefault(key, {})
        sub_schema = field.schema
    leaf = key_path[-1]
    node[leaf] = value
    with pytest.raises(ConfigError) as err:
        validate(config, schema, "cfg.yaml")
    message = str(err.value)
    assert message.startswith("cfg.yaml: ") and "\n" not in message
    assert f"{leaf} must be" in message or "missing required" in message, message


def test_values_yaml_leaves_as_strings_are_numbers():
    field = Field(float, 1.0, gt=0)
    assert field.check("1e-4", "k") == pytest.approx(1e-4)
    assert Field(int, 1).check("2e8", "k") == 200_000_000
    with pytest.raises(ConfigError, match="k must be a number > 0"):
        field.check(float("nan"), "k")
    with pytest.raises(ConfigError, match=r"k must be an integer, found 2.5"):
        Field(int, 1).check(2.5, "k")


def test_unknown_and_missing_keys_are_named():
    schema = {"a": Field(int), "b": Field(int, 3)}
    with pytest.raises(ConfigError, match=r"f.yaml: unknown key\(s\) \['c'\]; valid keys are \['a', 'b'\]"):
        validate({"a": 1, "c": 2}, schema, "f.yaml")
    with pytest.raises(ConfigError, match=r"f.yaml: missing required key\(s\) \['a'\]"):
        validate({}, schema, "f.yaml")
    assert validate({"a": 1}, schema, "f.yaml") == {"a": 1, "b": 3}


def test_listing_names_each_key_with_what_it_accepts():
    text = describe(ENV_REGISTRY["deepmimic"].SCHEMA)
    assert "episode_length: a number > 0 [s]; required" in text
    assert "pose_termination_dist: a number > 0 [m]; default 1.0" in text


def test_keys_subcommand_lists_names_and_keys_and_refuses_an_unknown_name(capsys):
    from mimickit.keys import main

    assert main([]) == 0 and "env: " in capsys.readouterr().out
    assert main(["agent", "PPO"]) == 0
    assert "discount: a number >= 0 and <= 1; default 0.99" in capsys.readouterr().out
    assert main(["env", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: usage: mimickit keys") and err.count("\n") == 1


def test_an_mjcf_file_mujoco_refuses_is_a_one_line_config_error(tmp_path):
    from mimickit.engines.mujoco_scene import build_scene

    bad = tmp_path / "bad.xml"
    bad.write_text('<mujoco><worldbody><body name="b"><freejoint/><geom size="0.1"/></body></worldbody>'
                   '<actuator><position joint="nosuch" kp="10"/></actuator></mujoco>')
    with pytest.raises(ConfigError) as err:
        build_scene(bad, [0, 0, 1], False, [], sim_timestep=0.01, integrator="implicitfast", ground_friction=1.0,
                    control_mode="pos")
    assert str(err.value).startswith(f"{bad}: MuJoCo could not") and "\n" not in str(err.value)
