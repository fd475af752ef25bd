"""The database task worker in the test process: queued emails are sent by the real worker code
(django_tasks_db's `Worker`), not by an immediate backend that would hide the queue."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def _worker(**options) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=options.get("interval", 0),
        batch=options.get("batch", True),
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )


def run_queued_tasks() -> int:
    """Run every ready task, one at a time, as `manage.py db_worker --batch` does: lock one,
    claim it, run it (the worker records its result). Returns how many ran.

    The command's loop itself cannot run here: between tasks it drops a connection that is
    inside a transaction, and every non-transactional test runs inside one.
    """
    worker = _worker()
    ran = 0
    while True:
        with transaction.atomic():
            task_result = DBTaskResult.objects.ready().get_locked()
            if task_result is None:
                return ran
            task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        ran += 1


@contextmanager
def background_worker():
    """`manage.py db_worker`'s loop in a thread, polling every 50 ms, for transactional tests
    (the live server and pages post invitations; the worker delivers them meanwhile)."""
    worker = _worker(batch=False, interval=0.05)

    def serve():
        try:
            worker.run()
        finally:
            connection.close()

    thread = threading.Thread(target=serve, name="db_worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.running = False
        thread.join(timeout=10)
