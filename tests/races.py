"""Running one piece of work in several threads released at once, for the race tests."""

import threading

from django.db import connection


def run_together(work, threads: int) -> list:
    """`work(n)` for n in range(threads), all started together; each outcome is its result or
    the exception it raised (in finishing order). Each thread closes its own connection."""
    barrier = threading.Barrier(threads)
    outcomes = []
    lock = threading.Lock()

    def worker(number):
        try:
            barrier.wait()
            result = work(number)
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            result = error
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    started = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes
