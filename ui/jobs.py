"""Blocking work off the Kivy thread: one worker thread, results back through the bridge.

Signing and recording a handoff waits on the engine, a PIN check is a deliberately slow hash,
a badge check is an HTTP call, an audit log read checks a hash chain: none of them may run on
the Kivy thread. :class:`Jobs` runs them in order on one daemon thread and posts a
:class:`JobDone` to the bridge, whose dispatch runs the callback on the Kivy thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobDone:
    """A finished job: its callback runs on the Kivy thread with the result or the error."""

    name: str
    callback: Callable[[Any, BaseException | None], None]
    result: Any
    error: BaseException | None

    def deliver(self) -> None:
        """Run the callback (on the Kivy thread)."""
        self.callback(self.result, self.error)


class Jobs:
    """One worker thread; ``post`` is where finished jobs go (the bridge)."""

    def __init__(self, post: Callable[[object], None]) -> None:
        """Results are handed to ``post``."""
        self._post = post
        self._queue: queue.SimpleQueue[
            tuple[str, Callable[[], Any], Callable[[Any, BaseException | None], None]] | None
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ui-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Finish the queued jobs (up to ``timeout``), then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def busy(self, name: str) -> bool:
        """Whether a job of that name is queued or running."""
        with self._lock:
            return name in self._busy

    def run(
        self,
        name: str,
        work: Callable[[], Any],
        callback: Callable[[Any, BaseException | None], None],
    ) -> bool:
        """Queue ``work``; False (and nothing queued) when a job of that name is pending."""
        with self._lock:
            if name in self._busy:
                return False
            self._busy.add(name)
        self._queue.put((name, work, callback))
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            name, work, callback = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = work()
            except Exception as exc:  # handed to the callback, which says it on screen
                log.warning("job %s failed: %s", name, exc)
                error = exc
            with self._lock:
                self._busy.discard(name)
            self._post(JobDone(name, callback, result, error))
