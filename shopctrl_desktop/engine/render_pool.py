"""Payload templates render in worker processes the engine can kill (issue 15 item 1).

A template can run one C-level operation for minutes (``{{ ('<a>' * 3000000)|striptags }}``) or build a
gigabyte by concatenation; the sandbox's deadline is only checked between steps. So every template render
(and every template check of ``triggers import`` and the editor's save) runs in a small pool of *spawned*
worker processes, each with an address-space limit (``RLIMIT_AS``, MAX_RENDER_MEMORY_MB) and a CPU-time
backstop (``RLIMIT_CPU``); the parent enforces the wall-clock deadline (MAX_RENDER_SECONDS): a render that
exceeds it kills its worker, fails only its own item with a message in words, and the pool starts a
replacement. Which renders may stay in-process is the domain's rule (``domain/payload.renders_in_process``).

Jobs and answers are plain tuples over a ``multiprocessing`` pipe:

- ``("render", body, mime, data, extra)`` -> ``("ok", text, retired)`` or ``("error", RenderError, retired)``
- ``("check", body, mime, data, extra)`` -> ``("ok", None, …)`` or ``("error", RenderError, …)``: compiles (any
  error refuses) and renders with the sample data, where only a bound hit refuses (sample data is often
  empty, so an ordinary error there says nothing about real events).
- ``("validate", body, mime, data, None)`` -> as ``check``, but every error refuses (the trigger editor's
  as-you-type check, which shows what is wrong with the sample event).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import multiprocessing
import queue
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from shopctrl_desktop.domain.model import RenderedRequest, StoredEvent, Trigger, WebhookAction
from shopctrl_desktop.domain.payload import renders_in_process, request_headers, sample_event, template_extra
from shopctrl_desktop.domain.planner import render_or_error
from shopctrl_desktop.domain.templates.env import MAX_RENDER_MEMORY_MB, MAX_RENDER_SECONDS
from shopctrl_desktop.domain.templates.errors import RenderError, RenderLimitError
from shopctrl_desktop.domain.trigger_file import template_problem

log = logging.getLogger(__name__)

_IPC_MARGIN = 0.5  # seconds for pickling and the well-formedness check beyond the render's own deadline
_START_TIMEOUT = 60.0  # a worker that is not ready after this long is given up


@dataclass(frozen=True, slots=True)
class RenderJob:
    kind: str  # "render", "check" or "validate"
    body: str
    mime: str
    data: Any
    extra: dict[str, Any] | None = None
    key: Any = None  # jobs of one action share a key (see RenderPool.run_all)


def time_message(seconds: float) -> str:
    return (
        f"the template ran longer than {seconds:g} s and was stopped (a runaway loop or a very slow filter?)"
    )


def memory_message(megabytes: int) -> str:
    return f"the template used more than {megabytes} MB of memory and was stopped"


# --------------------------------------------------------------------------- the worker process


def _worker_main(conn: Connection, memory_mb: int, seconds: float) -> None:
    import resource

    from shopctrl_desktop.domain.templates import render as templates

    address_space = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        kind, body, mime, data, extra = job
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = usage.ru_utime + usage.ru_stime  # CPU backstop: this job may use a few seconds more
        resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + 2 * seconds + 1), resource.RLIM_INFINITY))
        retire = False
        limit: str | None = None  # which bound the job hit, if any
        try:
            if kind == "validate":  # the editor's as-you-type check: every error counts
                templates.validate_template(body, mime, data)
                answer: tuple[str, Any] = ("ok", None)
            elif kind == "check":
                templates.validate_template(body, mime)
                try:
                    templates.render_template(body, mime, data, extra=extra, check=False)
                except RenderLimitError:
                    raise
                except RenderError:
                    pass  # sample data: only a bound hit refuses the template
                answer = ("ok", None)
            else:
                answer = ("ok", templates.render_template(body, mime, data, extra=extra))
        except RenderLimitError as exc:
            limit = exc.kind
            if exc.kind == "memory":
                retire = True
                exc = RenderLimitError(memory_message(memory_mb), kind="memory", lineno=exc.lineno)
            answer = ("error", RenderError(str(exc), lineno=exc.lineno))
        except RenderError as exc:
            answer = ("error", exc)
        except MemoryError:
            retire, limit = True, "memory"
            answer = ("error", RenderError(memory_message(memory_mb)))
        except Exception as exc:  # noqa: BLE001 - any failure is this job's answer, not the worker's end
            answer = ("error", RenderError(f"the payload template cannot be rendered: {exc}"))
        try:
            conn.send((*answer, retire, limit))
        except MemoryError:
            retire = True
            conn.send(("error", RenderError(memory_message(memory_mb)), True, "memory"))
        if retire:  # memory may stay fragmented: a fresh process takes the next job
            return


# --------------------------------------------------------------------------- the pool


class _Worker:
    def __init__(self, context: Any, memory_mb: int, seconds: float) -> None:
        # The desktop app's engine runs in a daemonic child process (gui/engine_thread.py), and multiprocessing
        # refuses children to daemonic processes only so that they are not orphaned at its exit: here they are
        # killed on close(), and a worker whose parent is gone ends at its next read of the pipe.
        own = multiprocessing.current_process()._config  # type: ignore[attr-defined]
        if own.get("daemon"):
            own["daemon"] = False
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, memory_mb, seconds), name="shopctrl-render", daemon=True
        )
        self.process.start()
        child.close()
        # The pipe is used by one thread at a time (the one admitting the worker, or the job holding it) and
        # closed exactly once, by that user: close() from another thread only kills the process. A descriptor
        # closed under a thread still polling it gets reused by the next socket or file — whose reads and
        # closes then land on the wrong object (it broke unrelated listeners' sockets in the test run).
        self._state = threading.Lock()
        self._in_use = False
        self._dead = False

    def take(self) -> bool:
        """Mark the pipe as in use by the calling thread; False when the worker was killed meanwhile."""
        with self._state:
            if self._dead:
                return False
            self._in_use = True
            return True

    def put_back(self) -> None:
        """The calling thread is done with the pipe; closes it when the worker was killed meanwhile."""
        with self._state:
            self._in_use = False
            close = self._dead
        if close:
            self.conn.close()

    def wait_ready(self, timeout: float) -> bool:
        if not self.take():
            return False
        try:
            return self.conn.poll(timeout) and self.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            return False
        finally:
            self.put_back()

    def kill(self) -> None:
        """Kill the process (its end of the pipe closes: a thread polling ours wakes up with EOF) and close
        our end now, or when the thread using it puts it back. Safe to call twice, from any thread."""
        with self._state:
            if self._dead:
                return
            self._dead = True
            close_now = not self._in_use
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        if close_now:
            self.conn.close()


class PoolClosed(RuntimeError):
    """The render pool is closed (the engine is stopping)."""


class RenderPool:
    """``size`` render workers with hard limits; :meth:`run` is blocking and thread-safe, :meth:`run_all`
    awaits a group of jobs on the event loop."""

    def __init__(
        self, size: int = 2, *, seconds: float = MAX_RENDER_SECONDS, memory_mb: int = MAX_RENDER_MEMORY_MB
    ) -> None:
        self.size = size
        self.seconds = seconds
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self._threads = ThreadPoolExecutor(size, thread_name_prefix="shopctrl-render")
        self.replaced = 0  # workers killed and replaced (tests and benchmarks read it)

    def start(self, *, wait: bool = True) -> None:
        """Start the workers; with ``wait`` until they are ready, else in the background (a job waits for
        the first ready worker)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        workers = [w for w in (self._new_worker() for _ in range(self.size)) if w is not None]
        if wait:
            for worker in workers:
                self._admit(worker)
            return
        for worker in workers:
            threading.Thread(
                target=self._admit, args=(worker,), name="shopctrl-render-start", daemon=True
            ).start()

    def _new_worker(self) -> _Worker | None:
        with self._lock:  # never a worker started after close(): it would outlive the pool
            if self._closed:
                return None
            worker = _Worker(self._context, self.memory_mb, self.seconds)
            self._all.add(worker)
        return worker

    def _start_successor(self) -> None:
        worker = self._new_worker()
        if worker is not None:
            self._admit(worker)

    def _admit(self, worker: _Worker) -> None:
        if worker.wait_ready(_START_TIMEOUT) and not self._closed:
            self._idle.put(worker)
            return
        self._retire(worker)
        if not self._closed:
            log.error("a render worker did not start; rendering continues with fewer workers")
            self._idle.put(None)  # wakes a waiting job, which then fails in words

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start its successor in the background (a spawn takes a few hundred ms)."""
        self._retire(worker)
        self.replaced += 1
        if not self._closed:
            threading.Thread(target=self._start_successor, name="shopctrl-render-start", daemon=True).start()

    def run(self, job: RenderJob) -> tuple[str | None, RenderError | None]:
        """``(text, None)`` (text is ``None`` for a check), or ``(None, error)`` — a RenderLimitError when a
        bound stopped it. Raises PoolClosed."""
        if not self._started:
            self.start()
        while True:
            if self._closed:
                raise PoolClosed("the render pool is closed")
            worker = self._idle.get()
            if worker is not None:
                break
            if self._closed:
                raise PoolClosed("the render pool is closed")
            return None, RenderError("no render worker could be started; the template was not rendered")
        if not worker.take():  # killed by close() between the queue and here
            raise PoolClosed("the render pool is closed")
        try:
            worker.conn.send((job.kind, job.body, job.mime, job.data, job.extra))
            answered = worker.conn.poll(self.seconds + _IPC_MARGIN)
            if answered:
                status, value, retired, limit = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            worker.put_back()
            code = worker.process.exitcode if not worker.process.is_alive() else None
            self._replace(worker)
            if self._closed:
                raise PoolClosed("the render pool is closed") from None
            if code is not None and code == -signal.SIGXCPU:  # the CPU-time backstop
                return None, RenderLimitError(time_message(self.seconds), kind="time")
            # a worker that died without answering: almost always memory (a C allocation past RLIMIT_AS)
            return None, RenderLimitError(memory_message(self.memory_mb), kind="memory")
        worker.put_back()
        if not answered:
            self._replace(worker)
            if self._closed:
                raise PoolClosed("the render pool is closed")
            return None, RenderLimitError(time_message(self.seconds), kind="time")
        if retired:  # the worker ends itself after a memory bound (see _worker_main)
            self._replace(worker)
        else:
            self._idle.put(worker)
        if status == "ok":
            return value, None
        if limit is not None:
            return None, RenderLimitError(str(value), kind=limit, lineno=value.lineno)
        return None, value

    async def run_all(self, jobs: Sequence[RenderJob]) -> list[tuple[str | None, RenderError | None]]:
        """Run the jobs on the workers (as many at once as there are workers) without blocking the loop.

        Once a job hit a time or memory bound, the jobs of the same ``key`` (the same action) that have not
        started yet fail at once with the same words: 20 events of one runaway template cost one deadline,
        not twenty."""
        loop = asyncio.get_running_loop()
        tripped: dict[Any, RenderLimitError] = {}

        def run_one(job: RenderJob) -> tuple[str | None, RenderError | None]:
            earlier = tripped.get(job.key) if job.key is not None else None
            if earlier is not None:
                return None, RenderLimitError(
                    f"{earlier} (on an earlier event of this batch)", kind=earlier.kind
                )
            outcome = self.run(job)
            error = outcome[1]
            if (
                job.key is not None
                and isinstance(error, RenderLimitError)
                and error.kind in ("time", "memory")
            ):
                tripped.setdefault(job.key, error)
            return outcome

        return list(await asyncio.gather(*(loop.run_in_executor(self._threads, run_one, j) for j in jobs)))

    def close(self) -> None:
        """Stop every worker now (a render in progress is killed; its caller gets PoolClosed)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()
        for _ in range(self.size + 1):
            self._idle.put(None)
        self._threads.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- checking templates (import, save)


def check_job(trigger: Trigger, action: WebhookAction, sample: StoredEvent) -> RenderJob:
    """The check of one action's template against a sample event (the newest stored one of the trigger's
    event, or an empty sample): compiled and rendered in a worker, under the same bounds as in ``serve``."""
    return RenderJob(
        "check",
        action.payload_body or "",
        str(action.payload_mime_type),
        sample.data,
        template_extra(trigger, action, sample),
    )


def where_in_template(error: RenderError) -> str:
    """`` (line 3 of the template)`` when the error knows a template line the message does not name."""
    if error.lineno is None or error.where != "template" or f"line {error.lineno}" in str(error):
        return ""
    return f" (line {error.lineno} of the template)"


def check_templates(
    pool: RenderPool,
    triggers: Sequence[Trigger],
    samples: Mapping[str, StoredEvent],
    rich_samples: Mapping[str, StoredEvent] | None = None,
) -> list[str]:
    """One problem per template, each rendered in a worker under the bounds of ``serve`` (2 s, 512 MB), in
    the words of domain/trigger_file.py ``template_problem``. With a rich sample of the trigger's event
    (``rich_samples``: the sample events every event type ships with) the template must render and its output
    be well formed for it — the mistake an unquoted ``$$Order.OrderCode$$`` in a JSON template makes shows
    here, not at delivery. Without one (``samples``: the newest stored event, else an empty sample), only a
    template that does not compile or hits a bound is refused."""
    problems: list[str] = []
    for index, trigger in enumerate(triggers):
        for number, action in enumerate(trigger.actions):
            if renders_in_process(action):
                continue
            rich = (rich_samples or {}).get(trigger.event)
            if rich is not None:
                job = RenderJob(
                    "render",
                    action.payload_body or "",
                    str(action.payload_mime_type),
                    rich.data,
                    template_extra(trigger, action, rich),
                )
                sample: StoredEvent | None = rich
            else:
                sample = samples.get(trigger.event) or sample_event(trigger.event)
                job = check_job(trigger, action, sample)
                sample = None  # an empty or arbitrary sample: not named
            _, error = pool.run(job)
            if error is not None:
                problems.append(
                    template_problem(trigger, index, number, error, sample) + where_in_template(error)
                )
    return problems


_shared: RenderPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> RenderPool:
    """One small pool for the desktop app's checks (the trigger editor), started in the background on first
    use and stopped when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RenderPool(1)
            _shared.start(wait=False)
            atexit.register(_shared.close)
        return _shared


def bounded_request(
    pool: RenderPool, trigger: Trigger, action: WebhookAction, event: StoredEvent
) -> RenderedRequest | RenderError:
    """``domain.planner.render_or_error`` with the template rendered in ``pool``, under the engine's bounds
    (the trigger editor's Preview and Send test, the ``render`` command)."""
    if renders_in_process(action):
        return render_or_error(trigger, action, event)
    job = RenderJob(
        "render",
        action.payload_body or "",
        str(action.payload_mime_type),
        event.data,
        template_extra(trigger, action, event),
    )
    text, error = pool.run(job)
    if error is not None:
        return error
    return RenderedRequest(
        method=action.method, url=action.url, headers=request_headers(action, event.event), body=text or ""
    )
