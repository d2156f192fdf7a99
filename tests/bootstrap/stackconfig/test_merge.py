"""A stack's configuration merged as the Pulumi CLI merges it (pkg/workspace/config.go of
pulumi/pulumi, mergeConfig; stack files read as Go's yaml.v3 reads them): what the offline
runner (`offline.load_stack_config`) hands the program."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.offline.config import engine_config, load_stack_config
from bootstrap.stackconfig import ConfigError, stack_config

PROJECT = """\
name: demo
runtime: python
config:
  size:
    type: integer
    description: how big
    default: 2
  flag:
    type: boolean
    default: false
  label: plain              # shorthand for a project key: its default
  aws:region: eu-west-1     # shorthand for a provider key: its value
  kubernetes:context:
    value: kind
  tags:
    type: array
    items:
      type: string
    default: [a]
"""


def infra(tmp_path: Path, stack: str, project: str = PROJECT) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(project)
    (tmp_path / "Pulumi.dev.yaml").write_text(stack)
    return tmp_path


def test_declared_defaults_and_values_fill_what_the_stack_does_not_set(tmp_path: Path) -> None:
    config = stack_config(
        infra(tmp_path, "config:\n  demo:size: 5\n  other:key: x\n"), "demo", "dev"
    )
    assert config == {
        "demo:size": 5,  # the stack's own value wins
        "demo:flag": False,
        "demo:label": "plain",
        "aws:region": "eu-west-1",
        "kubernetes:context": "kind",
        "demo:tags": ["a"],
        "other:key": "x",  # undeclared keys pass through: the CLI does not reject them
    }
    values, secrets = engine_config(config)
    assert values["demo:size"] == "5" and values["demo:flag"] == "false"
    assert values["demo:tags"] == '["a"]' and secrets == []


def test_the_stacks_value_wins_and_keys_are_qualified(tmp_path: Path) -> None:
    config = stack_config(
        infra(tmp_path, "config:\n  size: 7\n  aws:region: us-west-2\n"), "demo", "dev"
    )
    assert config["demo:size"] == 7 and config["aws:region"] == "us-west-2"


def test_a_value_of_the_wrong_type_is_refused_as_the_cli_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        stack_config(
            infra(tmp_path, "config:\n  demo:size: big\n  demo:flag: yes\n"), "demo", "dev"
        )
    assert [f.problem for f in caught.value.findings] == [
        "Stack 'dev' with configuration key 'flag' must be of type 'boolean'",
        "Stack 'dev' with configuration key 'size' must be of type 'integer'",
    ]
    assert caught.value.exit_code == 2


def test_a_required_key_without_default_is_refused(tmp_path: Path) -> None:
    project = "name: demo\nruntime: python\nconfig:\n  token:\n    type: string\n"
    with pytest.raises(
        ConfigError, match="Stack 'dev' is missing configuration value\\(s\\) 'token'"
    ):
        stack_config(infra(tmp_path, "config: {}\n", project), "demo", "dev")


def test_yaml_12_scalars_as_the_cli_reads_them(tmp_path: Path) -> None:
    config = stack_config(
        infra(
            tmp_path,
            "config:\n  demo:label: yes\n  demo:when: 1:30\n  demo:flag: True\n  demo:none:\n",
        ),
        "demo",
        "dev",
    )
    assert config["demo:label"] == "yes"  # YAML 1.1 would make it True
    assert config["demo:when"] == "1:30"  # and this 90
    assert config["demo:flag"] is True
    assert engine_config(config)[0]["demo:none"] == ""  # an empty key is "" for the program


def test_secrets_stay_opaque(tmp_path: Path) -> None:
    config = stack_config(
        infra(tmp_path, "config:\n  demo:size:\n    secure: v1:abc\n"), "demo", "dev"
    )
    values, secrets = engine_config(config)
    assert values["demo:size"] == "[secret]" and secrets == ["demo:size"]


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sets demo:size a second time"):
        stack_config(infra(tmp_path, "config:\n  size: 1\n  demo:size: 2\n"), "demo", "dev")


def test_the_offline_runner_merges_the_same_way(tmp_path: Path) -> None:
    folder = infra(tmp_path, "config:\n  demo:size: 5\n")
    assert load_stack_config(folder, "demo", "dev") == stack_config(folder, "demo", "dev")
    (folder / "Pulumi.yaml").unlink()  # a bare stack file: nothing declared, nothing merged
    assert load_stack_config(folder, "demo", "dev") == {"demo:size": 5}
