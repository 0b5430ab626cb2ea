"""The `[tune]` table of copydesk.toml: checked, every problem named."""

from __future__ import annotations

from pathlib import Path

from copydesk.inputs.schedules import check_config, deployment_name


def test_a_tune_table_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "copydesk.toml"
    path.write_text('[tune]\ncron = "0 3 * * 0"\ncontent_type = "restaurant"\nlora_r = 8\n')
    config, problems = check_config(path)
    assert problems == [] and config is not None and config.tune is not None
    assert config.tune.parameters()["settings"] == {"lora_r": 8}
    assert deployment_name("tune-model") == "tune-model/tune-model"

    path.write_text('[tune]\ncron = "every day"\ncontent_type = "poem"\nepochs = 3\n')
    _, problems = check_config(path)
    assert any(p.startswith("[tune]: unknown option 'epochs'") for p in problems)
    assert any(p.startswith("[tune]: bad cron 'every day'") for p in problems)
    assert any(p.startswith("[tune]: unknown content type 'poem'") for p in problems)
    path.write_text("[tune]\ncontent_type = 'restaurant'\n")
    assert check_config(path)[1] == ["[tune]: missing `cron`"]
