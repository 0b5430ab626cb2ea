"""The `process-inbox` flow: every new file in a schedule's inbox becomes one batch.

Wiring only: list the inbox (files already made into batches are skipped), claim each new
file (with its batch) in the database, run `generate-batch` on it as a subflow, and record
how it went. A file whose batch failed, or whose claim crashed, is resumed by a later run.
A file another live run claimed first is left to that run, and the run's final state says
so in its message: "Completed" means this run's own files are done.
"""

from __future__ import annotations

from prefect import State, flow
from prefect.states import Completed

from flows.generate_batch import generate_batch
from tasks.common import with_retries
from tasks.inbox import (
    claim_file_task,
    finish_file_task,
    held_files_task,
    list_inbox_task,
    schedule_task,
)


@flow(name="process-inbox", flow_run_name="inbox {schedule}", log_prints=True)
def process_inbox(schedule: str) -> State[dict[str, int]]:
    """Make a batch of each new input file of `schedule` (a name in copydesk.toml).

    Returns the counts: files seen in the inbox, new ones (not done before), batches run,
    of those the failed ones, the new files another run had claimed first (`elsewhere`),
    and of those the ones it still holds when this run ends (`held`)."""
    batch = schedule_task(schedule)
    listing = with_retries(list_inbox_task)(schedule)
    counts = {"files": listing["seen"], "new": len(listing["pending"]), "batches": 0, "failed": 0}
    elsewhere = []  # files another run had claimed (or finished) first
    for file in listing["pending"]:
        claim = claim_file_task(schedule, file)
        if claim is None:
            elsewhere.append(file)
            continue
        state = generate_batch(
            source=file["source"], batch_id=claim["batch_id"], **batch, return_state=True
        )
        failed = not state.is_completed()
        finish_file_task(claim["inbox_file_id"], (state.message or "failed") if failed else None)
        counts["batches"] += 1
        counts["failed"] += int(failed)
    held = held_files_task(schedule, elsewhere) if elsewhere else []
    counts["elsewhere"], counts["held"] = len(elsewhere), len(held)
    summary = inbox_summary(schedule, counts, held)
    print(summary)
    return Completed(message=summary, data=counts)


def inbox_summary(schedule: str, counts: dict[str, int], held: list[tuple[str, str]]) -> str:
    """One line a person reads in `copydesk trigger` and the Prefect UI."""
    line = (
        f"inbox {schedule}: {counts['files']} file(s), {counts['new']} new, "
        f"{counts['batches']} batch(es) run, {counts['failed']} failed"
    )
    if done_elsewhere := counts["elsewhere"] - len(held):
        line += f"; {done_elsewhere} done by another run"
    if held:
        files = ", ".join(f"{source.rsplit('/', 1)[-1]} (flow run {run})" for source, run in held)
        line += f"; {len(held)} still in progress in another run, not done yet: {files}"
    return line
