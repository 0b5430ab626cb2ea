"""The review app in a real browser: headless Chromium (the system's) driven by Playwright,
against the app served by uvicorn on 127.0.0.1 (SQLite file, local store, fake generator).

Also takes the screenshots of the queue and an item's page: into the test's temporary
folder, or into `--screenshots DIR` (`make screenshots` refreshes docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from copydesk.desk.item_view import item_detail
from copydesk.desk.review_queue import STATUS_WORDS
from db.models import WORK_STATUSES, ItemStatus
from tests.copydesk.review.conftest import ReviewDesk, make_desk, passing_sections, wait_for
from tests.support.desk import ARTICLES, reviewable_batch
from tests.support.fake_generator import FakeGenerator, echo_facts

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(message: str) -> None:
    if os.environ.get("COPYDESK_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Site:
    desk: ReviewDesk
    base: str
    gate: threading.Event  # the fake model answers only while this is set
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    gate = threading.Event()
    gate.set()

    def gated(request: Any) -> str:
        assert gate.wait(30), "the test never let the fake model answer"
        return echo_facts(request)

    desk = make_desk(
        f"sqlite:///{tmp_path / 'review.db'}", tmp_path, FakeGenerator(responder=gated)
    )
    port = _free_port()
    config = uvicorn.Config(desk.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="review-app", daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=15)
    yield Site(desk, f"http://127.0.0.1:{port}", gate)
    gate.set()
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()

    def on_dialog(dialog: Any) -> None:
        site.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.on(
        "console", lambda m: site.console_errors.append(m.text) if m.type == "error" else None
    )
    yield opened
    context.close()
    assert site.dialogs == [], "a script ran on the page"
    assert not [e for e in site.console_errors if "Content Security Policy" in e]


def sign_in(page: Any, site: Site, name: str = "alice") -> None:
    page.goto(f"{site.base}/queue")
    assert page.url.startswith(f"{site.base}/sign-in")
    page.fill("#name", name)
    page.fill("#secret", site.desk.secrets[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.base}/queue")


def status_of(site: Site, item_id: int) -> str:
    return item_detail(site.desk.url, item_id).status


def test_sign_in_and_filter_the_queue(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/sign-in")
    page.fill("#name", "alice")
    page.fill("#secret", "not-the-secret")
    page.click("button[type=submit]")
    assert "Unknown editor or wrong secret" in page.inner_text("#sign-in-error")
    sign_in(page, site)
    desk = site.desk
    rows = page.locator("a.item-link")
    assert rows.count() == len(desk.clean_ids) + len(desk.flagged_ids) + 1
    page.fill("input[name=batch]", str(desk.flagged_batch_id))
    page.select_option("select[name=failing]", "yes")
    page.click("#filters button[type=submit]")
    page.wait_for_url(f"**/queue?batch={desk.flagged_batch_id}*failing=yes*")
    assert rows.all_inner_texts() == [f"#{i}" for i in desk.flagged_ids]
    page.select_option("select[name=failing]", "no")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**failing=no*")
    assert rows.count() == 0 and page.get_by_text("Nothing to review here.").is_visible()
    page.goto(f"{site.base}/queue?batch={desk.batch_id}")  # the Prefect artifact's link
    assert rows.all_inner_texts() == [f"#{i}" for i in desk.clean_ids]


def test_approve_an_item(page: Any, site: Site) -> None:
    sign_in(page, site)
    first, second = site.desk.clean_ids[:2]
    page.goto(f"{site.base}/items/{first}")
    page.click("#approve-button")
    page.wait_for_url(f"{site.base}/items/{second}")
    assert f"Item {first} approved." in page.inner_text("#flash")
    detail = item_detail(site.desk.url, first)
    assert detail.status == ItemStatus.APPROVED
    assert [(r.editor, r.decision) for r in detail.reviews] == [("alice", "approve")]


def test_reject_needs_a_reason(page: Any, site: Site) -> None:
    sign_in(page, site)
    item_id = site.desk.clean_ids[0]
    page.goto(f"{site.base}/items/{item_id}")
    page.click("#reject-button")  # the browser refuses the empty required field
    assert page.url == f"{site.base}/items/{item_id}"
    assert page.eval_on_selector("#reject-reason", "el => !el.validity.valid")
    page.eval_on_selector("#reject-reason", "el => el.removeAttribute('required')")
    page.click("#reject-button")  # and the server refuses it too
    assert "a rejection needs a reason" in page.inner_text("#error-message")
    assert status_of(site, item_id) == ItemStatus.PENDING_REVIEW
    page.click("#error-link")
    page.fill("#reject-reason", "The area is wrong.")
    page.click("#reject-button")
    page.wait_for_url(f"{site.base}/items/{site.desk.clean_ids[1]}")
    detail = item_detail(site.desk.url, item_id)
    assert (
        detail.status == ItemStatus.REJECTED and detail.reviews[-1].reason == "The area is wrong."
    )


def test_edit_a_flagged_item_until_it_can_be_approved(page: Any, site: Site) -> None:
    sign_in(page, site)
    item_id = site.desk.flagged_ids[0]
    page.goto(f"{site.base}/items/{item_id}")
    assert page.is_disabled("#approve-button")
    assert "Approval is blocked" in page.inner_text("#approve-blocked")
    for name, text in passing_sections(site.desk.url, item_id).items():
        page.fill(f"#edit-{name}", text)
    with page.expect_navigation(url=f"{site.base}/items/{item_id}"):
        page.click("#edit-button")
    assert "every check passes" in page.inner_text("#flash")
    assert page.inner_text("#check-errors") == "checks pass"
    assert page.is_enabled("#approve-button")
    page.click("#approve-button")
    page.wait_for_url(lambda url: url != f"{site.base}/items/{item_id}")
    assert status_of(site, item_id) == ItemStatus.APPROVED


def test_regenerate_with_notes(page: Any, site: Site) -> None:
    sign_in(page, site)
    item_id = site.desk.clean_ids[3]
    rounds_before = len(item_detail(site.desk.url, item_id).revisions)
    site.gate.clear()  # hold the model until we have seen the waiting state
    page.goto(f"{site.base}/items/{item_id}")
    notes = "Say that it is a coffee shop by the river."
    page.fill("#regenerate-notes", notes)
    with page.expect_navigation(url=f"{site.base}/items/{item_id}"):  # it stays on the item
        page.click("#regenerate-button")
    # Waiting for the worker, or inside the round's stages: said in words.
    waiting = {STATUS_WORDS[s] for s in (ItemStatus.REGENERATE, *WORK_STATUSES)}
    assert page.inner_text("#item-status") in waiting
    assert "Being regenerated" in page.inner_text("#regenerating")
    assert page.locator("#decide form").count() == 0
    site.gate.set()
    # the page asks for the item's progress and reloads by itself when the text is back
    page.wait_for_selector("#same-text", timeout=20_000)
    assert page.url == f"{site.base}/items/{item_id}"
    assert page.inner_text("#item-status") == "waiting for review"
    assert page.locator("#regenerating").count() == 0
    assert "The regeneration produced the same text as before." in page.inner_text("#same-text")
    detail = item_detail(site.desk.url, item_id)
    assert detail.generation_round == 2 and len(detail.revisions) > rounds_before
    assert "Rewrite 1, asked for by alice" in page.inner_text("#round-2")
    prompts = [
        r.messages[-1].content if r.messages else r.prompt for r in site.desk.generator.history
    ]
    assert any(notes in (p or "") for p in prompts)


def test_bulk_approve_selected_clean_items(asking: Asking, site: Site) -> None:
    page = asking.page  # the approval asks first; the answer is yes
    sign_in(page, site)
    desk = site.desk
    assert page.is_disabled(f"input.pick[value='{desk.flagged_ids[0]}']")
    page.check(f"input.pick[value='{desk.clean_ids[0]}']")
    page.check(f"input.pick[value='{desk.clean_ids[1]}']")
    with page.expect_navigation():
        page.click("#bulk-approve")
    assert "Approved 2 item(s)" in page.inner_text("#flash")
    assert [status_of(site, i) for i in desk.clean_ids[:3]] == [
        "approved",
        "approved",
        "pending_review",
    ]
    assert status_of(site, desk.flagged_ids[0]) == "pending_review"
    page.check("#select-all")  # selects every clean item left, never a failing one
    assert page.locator("input.pick:checked").count() == len(desk.clean_ids) - 2
    with page.expect_navigation():
        page.click("#bulk-approve")
    assert all(status_of(site, i) == "approved" for i in desk.clean_ids)
    assert status_of(site, desk.flagged_ids[0]) == "pending_review"
    assert asking.questions == ["Approve 2 items?", f"Approve {len(desk.clean_ids) - 2} items?"]


def test_a_viewer_sees_no_decision_buttons(page: Any, site: Site) -> None:
    sign_in(page, site, "vera")
    assert page.locator("input.pick").count() == 0 and page.locator("#bulk-approve").count() == 0
    item_id = site.desk.clean_ids[0]
    page.goto(f"{site.base}/items/{item_id}")
    for button in ("#approve-button", "#reject-button", "#edit-button", "#regenerate-button"):
        assert page.locator(button).count() == 0, button
    assert page.get_by_text("deciding needs the editor role").is_visible()
    page.keyboard.press("a")
    assert page.url == f"{site.base}/items/{item_id}"
    assert status_of(site, item_id) == ItemStatus.PENDING_REVIEW


def test_keyboard_shortcuts(page: Any, site: Site) -> None:
    sign_in(page, site)
    first, second = site.desk.clean_ids[:2]
    page.goto(f"{site.base}/items/{first}")
    page.keyboard.press("?")
    assert page.is_visible("#shortcut-help")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reject-reason"
    page.keyboard.type("a")  # typing in a field is not a shortcut
    assert page.input_value("#reject-reason") == "a"
    assert status_of(site, first) == ItemStatus.PENDING_REVIEW
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    assert page.evaluate("document.activeElement.id") == "regenerate-notes"
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.classList.contains('edit-box')")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.wait_for_url(f"{site.base}/items/{second}")
    assert status_of(site, first) == ItemStatus.APPROVED
    page.keyboard.press("n")
    page.wait_for_url(f"{site.base}/items/{site.desk.clean_ids[2]}")


def test_hostile_input_renders_as_text(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.goto(f"{site.base}/items/{site.desk.hostile_id}")
    record = page.locator("#record")
    assert record.get_by_text("<script>alert(1)</script> Herb tips").is_visible()
    assert record.get_by_text("<img src=x onerror=alert(1)>").is_visible()
    assert page.locator("img[src=x]").count() == 0
    page.goto(f"{site.base}/queue")
    assert page.get_by_text("<script>alert(1)</script> Herb tips").is_visible()
    assert site.dialogs == []


def test_screenshots(page: Any, site: Site, tmp_path: Path, pytestconfig: pytest.Config) -> None:
    """The pictures of the queue and a flagged item's page (`make screenshots` keeps them
    in docs/screenshots/; a plain test run writes them to its temporary folder only)."""
    given = pytestconfig.getoption("screenshots")  # relative to where pytest was started
    shots = pytestconfig.invocation_params.dir / given if given else tmp_path

    def repeating(request: Any) -> str:
        return (
            "How to Start a Balcony Herb Garden is for city renters with no gardening "
            "experience. Most herbs need 6 hours of sun. Most herbs need 6 hours of sun. "
            "Use pots with with drainage holes."
        )

    _, ids = reviewable_batch(
        site.desk.url, site.desk.store, source=ARTICLES, content_type="article", responder=repeating
    )
    sign_in(page, site)
    shots.mkdir(parents=True, exist_ok=True)
    page.goto(f"{site.base}/queue?per_page=20")
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    page.goto(f"{site.base}/items/{ids[0]}")
    assert page.locator("mark").count() > 0
    page.screenshot(path=str(shots / "item.png"), full_page=True)
    assert (shots / "queue.png").stat().st_size > 10_000


@dataclass
class Asking:
    """A page whose confirmation dialogs are answered with `answer` and remembered."""

    page: Any
    answer: bool = True
    questions: list[str] = field(default_factory=list)


@pytest.fixture
def asking(browser: Any, site: Site) -> Iterator[Asking]:
    """Like `page`, but the bulk approval's question is answered, not taken for a script
    that ran; any other dialog still fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    asking = Asking(context.new_page())

    def on_dialog(dialog: Any) -> None:
        if dialog.type == "confirm" and re.fullmatch(r"Approve \d+ items?\?", dialog.message):
            asking.questions.append(dialog.message)
            if asking.answer:
                dialog.accept()
            else:
                dialog.dismiss()
        else:
            site.dialogs.append(dialog.message)
            dialog.dismiss()

    asking.page.on("dialog", on_dialog)
    asking.page.on(
        "console", lambda m: site.console_errors.append(m.text) if m.type == "error" else None
    )
    yield asking
    context.close()
    assert site.dialogs == [], "a script ran on the page"
    assert not [e for e in site.console_errors if "Content Security Policy" in e]


def test_bulk_approve_asks_how_many_first(asking: Asking, site: Site) -> None:
    page, (first, second, third, *_) = asking.page, site.desk.clean_ids
    sign_in(page, site)
    page.check(f"input.pick[value='{first}']")
    page.check(f"input.pick[value='{second}']")
    with page.expect_navigation():
        page.click("#bulk-approve")
    assert asking.questions == ["Approve 2 items?"]
    assert "Approved 2 item(s)" in page.inner_text("#flash")
    assert [status_of(site, i) for i in (first, second, third)] == [
        "approved",
        "approved",
        "pending_review",
    ]
    assert page.inner_text("#decided-today") == "2"
    page.goto(f"{site.base}/queue?status=any")
    assert page.inner_text(f"#status-{first}") == "approved"
    assert page.inner_text(f"#status-{third}") == "waiting for review"
    assert page.locator("input.pick").count() == 0 and page.locator("#bulk-approve").count() == 0


def test_bulk_approve_dismissed_approves_nothing(asking: Asking, site: Site) -> None:
    page, (first, second, *_) = asking.page, site.desk.clean_ids
    asking.answer = False
    sign_in(page, site)
    page.check(f"input.pick[value='{first}']")
    page.check(f"input.pick[value='{second}']")
    page.click("#bulk-approve")
    assert asking.questions == ["Approve 2 items?"]
    page.wait_for_timeout(300)  # time a submitted form would have needed to leave the page
    assert page.url == f"{site.base}/queue" and page.locator("#flash").count() == 0
    assert page.locator("input.pick:checked").count() == 2  # the selection is kept
    assert [status_of(site, i) for i in (first, second)] == ["pending_review", "pending_review"]


def test_an_edit_shows_coloured_word_changes(page: Any, site: Site) -> None:
    sign_in(page, site)
    item_id = site.desk.clean_ids[0]  # Alimentum, in the city centre
    page.goto(f"{site.base}/items/{item_id}")
    (section,) = item_detail(site.desk.url, item_id).sections
    page.click("#edit-details summary")
    page.fill(f"#edit-{section.name}", section.text.replace("city centre", "riverside area"))
    with page.expect_navigation(url=f"{site.base}/items/{item_id}"):
        page.click("#edit-button")
    current = page.locator("#history li").last
    assert "editor alice" in current.locator("summary").inner_text()
    assert "changes by editor alice" in current.inner_text()
    added, removed = current.locator("ins"), current.locator("del")
    assert added.inner_text() == "riverside area" and added.is_visible()
    assert removed.inner_text() == "city centre" and removed.is_visible()
    colours = [
        box.evaluate("el => getComputedStyle(el).backgroundColor") for box in (added, removed)
    ]
    assert "rgba(0, 0, 0, 0)" not in colours and colours[0] != colours[1], colours
    assert "line-through" in removed.evaluate("el => getComputedStyle(el).textDecorationLine")


def test_the_discarded_model_text_shows_with_its_findings(page: Any, site: Site) -> None:
    def inventing(request: Any) -> str:
        return "Alimentum is a pub in Liverpool's city centre. It is not family-friendly."

    _, ids = reviewable_batch(site.desk.url, site.desk.store, responder=inventing)
    sign_in(page, site)
    page.goto(f"{site.base}/items/{ids[0]}")
    assert "written by the template fallback" in page.inner_text("#sections")
    attempts = page.locator("#attempts")
    marked = attempts.locator("mark", has_text="Liverpool's")
    assert marked.is_visible() and "not in the input" in (marked.get_attribute("title") or "")
    background = marked.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"
    assert "Not used" in attempts.locator(".outcome").first.inner_text()
    assert "not in the input" in attempts.locator(".candidate-findings").inner_text()


def test_the_queue_previews_counts_and_lists_any_status(page: Any, site: Site) -> None:
    from tests.copydesk.review.test_pages import RAW_WORDS  # statuses not in words, check ids

    sign_in(page, site)
    desk = site.desk
    waiting = len(desk.clean_ids) + len(desk.flagged_ids) + 1
    assert page.inner_text("#left-to-review") == str(waiting)
    assert page.inner_text("#decided-today") == "0"
    first = desk.clean_ids[0]
    preview = page.inner_text(f"#preview-{first}")
    assert preview and preview in item_detail(desk.url, first).sections[0].text
    page.goto(f"{site.base}/items/{first}")
    page.click("#approve-button")
    page.goto(f"{site.base}/queue")
    assert page.inner_text("#left-to-review") == str(waiting - 1)
    assert page.inner_text("#decided-today") == "1"
    page.select_option("select[name=status]", "any")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**status=any*")
    assert page.inner_text(f"#status-{first}") == "approved"
    assert page.locator("#bulk-approve").count() == 0  # only the waiting list approves in bulk
    text = page.inner_text("main")
    assert [w for w in RAW_WORDS if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)] == []


def test_the_item_page_says_who_wrote_the_text_in_an_editors_words(page: Any, site: Site) -> None:
    from tests.copydesk.review.test_pages import developer_words

    sign_in(page, site)
    item_id = site.desk.clean_ids[0]  # a restaurant (an article's record has a field "length")
    page.goto(f"{site.base}/items/{item_id}")
    head = page.inner_text(".item-head")
    authors = ("the template fallback", "the base model", "the model (version")
    assert any(f"current text by {who}" in head for who in authors), head
    attempts = page.inner_text("#attempts")  # what the model wrote, with its findings
    assert "Attempt 1" in attempts
    if "by the template fallback" in head:  # then the page says why the model's text went
        assert "did not pass the checks" in attempts, attempts
    assert developer_words(page.inner_text("main")) == []
