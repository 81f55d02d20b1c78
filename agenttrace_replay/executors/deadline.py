"""Running an executor under a deadline that holds even when the executor does not cooperate.

`asyncio.timeout` only works with executors that let themselves be cancelled. Two kinds do
not, and both are easy to write by accident:

- an ``async def`` executor that calls blocking code (a synchronous SDK, ``time.sleep``)
  holds the event loop, so no timer can fire until it returns;
- an executor that catches ``CancelledError`` (``except BaseException``, a retry loop)
  keeps running after it was told to stop, so ``async with asyncio.timeout(...)`` waits for
  it forever.

`run_with_deadline` runs the executor as its own task, stops waiting at the deadline, asks
it to stop, gives it `GRACE_SECONDS` to do so and then abandons it. With ``own_thread=True``
(what the CLI uses) the executor runs on a private event loop in a daemon thread, so even an
executor that blocks its loop cannot hold up the caller: the command reports the timeout and
exits, and the abandoned work ends with the process. Library callers keep the default (the
caller's own loop), because a registered executor may use objects bound to that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

GRACE_SECONDS = 1.0  # how long a timed-out executor gets to finish after it was cancelled
_SLACK = 0.05  # a result that lands this close after the deadline still counts as on time


class DeadlinePassed(Exception):
    """The executor ran past its timeout; `blocked` when it held the event loop meanwhile."""

    def __init__(self, timeout: float, elapsed: float, blocked: bool = False) -> None:
        self.timeout, self.elapsed, self.blocked = timeout, elapsed, blocked
        message = f"timed out after {timeout:g} s"
        if blocked:
            message += (
                f" (the executor blocked the event loop for {elapsed:.1f} s: an async executor must"
                " await its I/O; blocking code belongs in a plain function, which runs in a thread)"
            )
        super().__init__(message)


class Escaped(Exception):
    """A BaseException other than cancellation raised by an executor (`SystemExit`, a custom
    one). Carried as an ordinary exception: asyncio re-raises `SystemExit` and
    `KeyboardInterrupt` out of the event loop itself, past any handler in the replay."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


class DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """An event loop's default executor whose threads nobody waits for.

    With the default thread pool, ``asyncio.run`` and then the interpreter wait for every
    worker thread at exit, so blocking code abandoned at a timeout would hold the process
    for as long as it runs.
    """

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: concurrent.futures.Future = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)

        threading.Thread(target=work, name="agenttrace-replay-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


async def _shielded(make: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await make()
    except (Exception, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise Escaped(exc) from exc


async def run_with_deadline(
    make: Callable[[], Awaitable[Any]], timeout: float, *, own_thread: bool = False
) -> Any:
    """``await make()`` for at most `timeout` seconds; raises `DeadlinePassed` past it.

    The executor's own exceptions come through unchanged, except BaseExceptions other than
    cancellation, which come wrapped in `Escaped`. If the caller is cancelled, the executor
    is cancelled too.
    """
    started = time.monotonic()
    if own_thread:
        waited, cancel = _start_in_own_thread(make)
    else:
        task = asyncio.ensure_future(_shielded(make))
        waited = task

        def cancel() -> None:
            task.cancel()

    try:
        await asyncio.wait({waited}, timeout=timeout)
    except asyncio.CancelledError:
        cancel()
        _forget(waited)
        raise
    elapsed = time.monotonic() - started
    if not waited.done():
        cancel()
        try:
            await asyncio.wait({waited}, timeout=GRACE_SECONDS)
        finally:
            _forget(waited)
        raise DeadlinePassed(timeout, elapsed)
    if elapsed > timeout + _SLACK:  # it finished, but only after holding the loop past the deadline
        _forget(waited)
        raise DeadlinePassed(timeout, elapsed, blocked=True)
    if waited.cancelled():  # cancelled from inside the executor, not by us
        raise RuntimeError("the executor was cancelled (it raised CancelledError)")
    return waited.result()


def _forget(future: asyncio.Future) -> None:
    """Mark the outcome of a future nobody will look at as seen (no 'never retrieved' noise)."""

    def seen(done: asyncio.Future) -> None:
        if not done.cancelled():
            done.exception()

    future.add_done_callback(seen)


def _start_in_own_thread(make: Callable[[], Awaitable[Any]]) -> tuple[asyncio.Future, Callable[[], None]]:
    """Run ``make()`` on a new event loop in a daemon thread; returns a future of this loop
    for its outcome, and a function that cancels it from here."""
    outcome: concurrent.futures.Future = concurrent.futures.Future()
    started = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(DaemonThreads())
        box["loop"] = loop
        box["task"] = loop.create_task(_shielded(make))
        started.set()
        try:
            value = loop.run_until_complete(box["task"])
        except BaseException as exc:  # the executor's error, or its cancellation
            if isinstance(exc, asyncio.CancelledError):
                outcome.cancel()
            else:
                outcome.set_exception(exc)
        else:
            outcome.set_result(value)
        finally:
            _close(loop)

    threading.Thread(target=work, name="agenttrace-replay-executor", daemon=True).start()
    started.wait()

    def cancel() -> None:
        loop = box["loop"]
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(box["task"].cancel)
            except RuntimeError:  # closed meanwhile: nothing left to cancel
                pass

    return asyncio.wrap_future(outcome), cancel


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Tidy up what the executor left on its private loop, without waiting on stubborn tasks."""
    try:
        leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in leftovers:
            t.cancel()
        if leftovers:
            loop.run_until_complete(asyncio.wait(leftovers, timeout=GRACE_SECONDS))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # cleanup is best effort: the outcome is already delivered
        pass
    finally:
        if not any(not t.done() for t in asyncio.all_tasks(loop)):
            loop.close()
