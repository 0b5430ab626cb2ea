"""`copydesk schedules list|validate`, and `serve` / `trigger` without a server."""

from __future__ import annotations

from pathlib import Path

from tests.copydesk.cli.test_main import copydesk

CONFIG = """
[[schedules]]
name = "products"
content_type = "product_description"
input = "inbox/products/*.csv"
cron = "0 9 * * 1-5"
timezone = "Europe/Berlin"
limit = 50

[[schedules]]
name = "restaurants"
content_type = "restaurant"
input = "store:inbox/restaurants/"
cron = "*/15 * * * *"

[regenerate]
cron = "*/30 * * * *"
"""
WIDE = {"COLUMNS": "200"}


def test_validate_and_list_a_good_config(tmp_path: Path) -> None:
    (tmp_path / "inbox" / "products").mkdir(parents=True)
    (tmp_path / "copydesk.toml").write_text(CONFIG)

    validated = copydesk("schedules", "validate")
    listed = copydesk("schedules", "list", env=WIDE)

    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.strip() == (
        f"{tmp_path / 'copydesk.toml'}: ok, 2 schedule(s): products, restaurants"
    )
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("│")[1:-1] for line in listed.stdout.splitlines() if line.startswith("│")]
    table = {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows}
    products = table["products"]
    assert products[:4] == [
        "product_description",
        "inbox/products/*.csv",
        "0 9 * * 1-5",
        "Europe/Berlin",
    ]
    assert products[4].endswith((" CET", " CEST")) and " 09:00 " in products[4]
    assert table["restaurants"][1:4] == ["store:inbox/restaurants/", "*/15 * * * *", "UTC"]
    assert table["regenerate-requested"][2] == "*/30 * * * *"
    assert table["publish-approved"][2:] == ["-", "UTC", "on demand"]


def test_validate_lists_every_problem_with_its_schedule(tmp_path: Path) -> None:
    (tmp_path / "desk.toml").write_text(
        CONFIG.replace("0 9 * * 1-5", "0 25 * * *")
        .replace("Europe/Berlin", "Europe/Atlantis")
        .replace('"restaurant"', '"menu"')
        .replace("limit = 50", "limit = 50\nbatch = 3")
        + '\n[[schedules]]\nname = "restaurants"\ncontent_type = "article"\n'
        'input = "inbox/articles/"\ncron = "@daily"\n'
    )

    result = copydesk("schedules", "validate", env={"COPYDESK_CONFIG": "desk.toml"})

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    path = tmp_path / "desk.toml"
    assert all(line.startswith(f"{path}: schedule '") for line in lines), lines
    expected = [
        "'products': unknown option 'batch'",
        "'products': bad cron '0 25 * * *'",
        "'products': unknown timezone 'Europe/Atlantis'",
        "'products': input folder ",
        "'restaurants': unknown content type 'menu'",
        "'restaurants': input folder ",
        "'restaurants': duplicate name (2 schedules)",
    ]
    for line, start in zip(lines, expected, strict=True):
        assert line.removeprefix(f"{path}: schedule ").startswith(start), line
    assert "Traceback" not in result.stderr


def test_list_without_a_config_is_one_line(tmp_path: Path) -> None:
    result = copydesk("schedules", "list")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'copydesk.toml'}: no such file (write one, or set "
        "COPYDESK_CONFIG to its path)"
    )


def test_serve_and_trigger_need_a_prefect_server(tmp_path: Path) -> None:
    help_text = copydesk("serve", "--help", env=WIDE).stdout
    assert "PREFECT_API_URL" in help_text and "prefect server start" in help_text
    assert "process-inbox/NAME" in help_text and "http://127.0.0.1:4200" in help_text

    for command in (["serve"], ["trigger", "products"]):
        result = copydesk(*command)
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: copydesk {command[0]} needs a Prefect server")
        assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in result.stderr

    down = copydesk("trigger", "products", env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert down.stderr.startswith(
        "error: copydesk trigger: Prefect server http://127.0.0.1:9/api unreachable"
    )
