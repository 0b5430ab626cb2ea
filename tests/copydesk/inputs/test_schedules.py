"""copydesk.toml: loading, and every problem named with its schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copydesk.errors import ConfigurationError
from copydesk.inputs.schedules import (
    check_config,
    cron_problem,
    deployment_name,
    load_config,
    next_run,
)
from copydesk.settings import get_settings

GOOD = """
[[schedules]]
name = "products"
content_type = "product_description"
input = "inbox/products/*.csv"
cron = "0 * * * *"
timezone = "Europe/Berlin"
limit = 100
chunk_size = 8
max_attempts = 2
temperature = 0.5

[[schedules]]
name = "restaurants"
content_type = "restaurant"
input = "store:inbox/restaurants/"
cron = "*/15 * * * *"

[publish]
cron = "30 6 * * *"
timezone = "Europe/London"
"""


def write(folder: Path, text: str, name: str = "copydesk.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def problems_of(folder: Path, text: str) -> list[str]:
    config, problems = check_config(write(folder, text))
    assert config is None
    return problems


def schedule(**fields: object) -> str:
    """A [[schedules]] table: a valid one, with `fields` changed (None: left out)."""
    values = {
        "name": "shop",
        "content_type": "product_description",
        "input": "inbox",
        "cron": "* * * * *",
        **fields,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
    return "[[schedules]]\n" + "\n".join(lines) + "\n"


def test_a_good_config_loads(tmp_path: Path) -> None:
    (tmp_path / "inbox" / "products").mkdir(parents=True)
    write(tmp_path, GOOD)

    config = load_config()  # copydesk.toml in the working directory

    products, restaurants = config.schedules
    assert config.path == tmp_path / "copydesk.toml"
    assert (products.name, products.content_type, products.timezone) == (
        "products",
        "product_description",
        "Europe/Berlin",
    )
    assert (products.options.limit, products.options.chunk_size, products.options.images) == (
        100,
        8,
        False,
    )
    assert products.options.generation() == {"temperature": 0.5, "max_attempts": 2}
    assert products.local_input() == (tmp_path / "inbox" / "products", "*.csv")
    assert not products.is_store and restaurants.is_store
    assert (restaurants.timezone, restaurants.options.generation()) == ("UTC", {})
    assert (config.publish.cron, config.publish.timezone) == ("30 6 * * *", "Europe/London")
    assert config.regenerate.cron is None
    assert config.schedule("restaurants") is restaurants
    with pytest.raises(ConfigurationError, match=r"no schedule 'nope' .*products, restaurants"):
        config.schedule("nope")


def test_config_path_comes_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "etc"
    (elsewhere / "inbox").mkdir(parents=True)
    write(elsewhere, schedule(), "desk.toml")
    monkeypatch.setenv("COPYDESK_CONFIG", str(elsewhere / "desk.toml"))
    get_settings.cache_clear()

    (shop,) = load_config().schedules

    assert shop.local_input() == (elsewhere / "inbox", None)  # relative to the file


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"cron": "61 * * * *"}, "schedule 'shop': bad cron '61 * * * *'"),
        ({"cron": "*/5 * * * * *"}, "schedule 'shop': bad cron '*/5 * * * * *': give five"),
        ({"cron": "H * * * *"}, "schedule 'shop': bad cron 'H * * * *': random (R) and hashed"),
        ({"timezone": "Mars/Olympus"}, "schedule 'shop': unknown timezone 'Mars/Olympus'"),
        ({"content_type": "poem"}, "schedule 'shop': unknown content type 'poem' (known: article"),
        ({"input": "missing/*.csv"}, "schedule 'shop': input folder '"),
        ({"input": "store:../x/"}, "schedule 'shop': input: "),
        ({"limt": 3}, "schedule 'shop': unknown option 'limt' (known: name, content_type"),
        ({"chunk_size": 0}, "schedule 'shop': option 'chunk_size': Input should be greater"),
        ({"images": True}, "schedule 'shop': "),
        ({"name": "a b"}, "schedule 'a b': bad name"),
        ({"name": "publish-approved"}, "schedule 'publish-approved': the name is reserved"),
        ({"cron": None}, "schedule 'shop': missing `cron`"),
        ({"name": None}, "schedule #1 (no name): missing `name`"),
    ],
)
def test_each_problem_names_its_schedule(
    tmp_path: Path, fields: dict[str, object], expected: str
) -> None:
    (tmp_path / "inbox").mkdir()

    problems = problems_of(tmp_path, schedule(**fields))

    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    text = (
        schedule(cron="bad", timezone="Nowhere", limt=1)
        + schedule(content_type="article")
        + '[regenerate]\ncron = "* *"\n[weird]\nx = 1\n'
    )

    problems = problems_of(tmp_path, text)

    assert problems[0] == "unknown section 'weird' (known: publish, regenerate, schedules, tune)"
    shop = [p for p in problems if p.startswith("schedule 'shop': ")]
    assert [p.split(": ")[1].split(" ")[0] for p in shop] == [
        "unknown",  # option 'limt'
        "bad",  # cron
        "unknown",  # timezone
        "duplicate",  # name
    ]
    assert any(p.startswith("[regenerate]: bad cron '* *'") for p in problems)
    with pytest.raises(ConfigurationError) as error:
        load_config()
    assert str(error.value).startswith(f"{tmp_path / 'copydesk.toml'}: unknown section")


def test_a_missing_or_broken_file(tmp_path: Path) -> None:
    assert check_config(tmp_path / "none.toml")[1] == [
        "no such file (write one, or set COPYDESK_CONFIG to its path)"
    ]
    broken = check_config(write(tmp_path, "[[schedules]\nname = 1"))[1]
    assert len(broken) == 1 and broken[0].startswith("cannot read it: ")


def test_cron_rules() -> None:
    assert cron_problem("*/10 9-17 * * MON-FRI") is None
    assert cron_problem("@hourly") is None
    assert cron_problem("0 0 * MAR THU") is None  # month and day names are not H or R
    assert cron_problem("R/5 * * * *") is not None


def test_next_run_is_in_the_schedule_timezone() -> None:
    after = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)  # 08:30 in Berlin

    fired = next_run("0 9 * * *", "Europe/Berlin", after)

    assert fired.isoformat() == "2026-01-05T09:00:00+01:00"
    assert next_run("0 9 * * *", "UTC", after).isoformat() == "2026-01-05T09:00:00+00:00"


def test_deployment_names() -> None:
    assert deployment_name("products") == "process-inbox/products"
    assert deployment_name("publish-approved") == "publish-approved/publish-approved"
    assert deployment_name("regenerate-requested") == "regenerate-requested/regenerate-requested"
    assert deployment_name("process-inbox/x") == "process-inbox/x"
