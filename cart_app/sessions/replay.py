"""Replay a session through the real pipeline on a simulated clock, as fast as the machine allows.

Frames go through the vision worker (motion gate, tracker, recogniser, barcode reader), scale
bytes through the link session, parser, calibration and weight filter, and both, with the
inputs, into a real engine (fusion, pricing, a temporary ledger) built the way the composition
root builds it. Everything runs on one thread in time order: the next event of any stream
(a frame, a chunk of bytes, an input, a tick of ``tick_s``) sets the clock and is handled, and
the engine's loop turn (``Engine.tick``) follows, as on the cart. Ids come from counters and
every time from the session, so the same session gives the same receipt, byte for byte.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cart_app.app import scheme_from_config
from cart_app.catalog import Catalog, CatalogError
from cart_app.config import LoadedConfig
from cart_app.config.schema import CartConfig
from cart_app.devices import scale_settings
from cart_app.domain import PricingMode
from cart_app.engine import CartSnapshot, Engine, EngineEvent, EngineSettings
from cart_app.events import Answer, Command, CommandRejected, RequestCheckout, Sensed
from cart_app.fusion import Fuser, FusionSettings
from cart_app.fusion.choices import accepts
from cart_app.ledger import Ledger
from cart_app.ledger_codec import encode_record
from cart_app.pricing import PricingPolicy
from cart_app.sessions import receipt_json
from cart_app.sessions.format import Session, SessionError
from cart_app.sessions.inputs import PromptTarget, SessionInput, read_inputs, to_engine
from cart_app.sessions.replay_scale import ScaleReplay
from cart_app.sessions.replay_vision import CameraReplay, build_camera, open_recogniser
from cart_app.sessions.shopper import NoResponder, Responder, TruthShopper
from cart_app.sessions.truth import read_truth
from scale.types import WeightChange
from vision.types import BarcodeRead, ItemObservation

log = logging.getLogger(__name__)

# Order of simultaneous events: the link, bytes, frames, inputs, then the shopper's answers.
_LINK, _SCALE, _FRAME, _CAMERA_END, _INPUT, _SCHEDULED = range(6)


class SimClock:
    """The replay's clock: set by the replay, never moving backwards."""

    def __init__(self, t0: float, wall_at_t0: float) -> None:
        self._t = t0
        self._offset = wall_at_t0 - t0

    def monotonic(self) -> float:
        """The session time."""
        return self._t

    def wall(self) -> float:
        """The wall time the session had at this moment."""
        return self._offset + self._t

    def set(self, t: float) -> None:
        """Move to ``t`` (an earlier time leaves the clock where it is)."""
        self._t = max(self._t, t)


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """How the replay runs."""

    tick_s: float = 0.1
    """The engine's loop turn when nothing arrives (the cart's ``inbox_poll_s``); it also
    turns after every reading and input, as the engine thread does."""
    tail_s: float = 900.0
    """Longest time replayed after the session's end while answers are still due."""
    shopper: bool = True
    """Answer prompts with the simulated shopper when the session has a truth."""


@dataclass(frozen=True, slots=True)
class LineChange:
    """A change of the basket's lines, when the replay saw it."""

    t: float
    kind: str  # "add" or "remove"
    line_id: int
    sku: str
    quantity: int
    weight_g: float
    source: str
    """Evidence source of the line's latest change: vision, barcode, shopper, staff, system."""


@dataclass(frozen=True, slots=True)
class PromptSeen:
    """A prompt the cart opened, and what became of it."""

    t: float
    prompt_id: str
    reason: str
    choices: tuple[str, ...]
    action: int | None
    """The truth action the simulated shopper matched it to (generated trips)."""


@dataclass
class ReplayResult:
    """The receipt and what happened on the way (for the event log and the benchmark)."""

    document: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[LineChange] = field(default_factory=list)
    prompts: list[PromptSeen] = field(default_factory=list)
    frames: int = 0
    chunks: int = 0
    t_end: float = 0.0

    @property
    def receipt_text(self) -> str:
        """The receipt file's exact text."""
        return receipt_json.dumps(self.document)


def _json_value(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _reading(reading: ItemObservation | WeightChange | BarcodeRead) -> dict[str, Any]:
    kind = {ItemObservation: "observation", WeightChange: "weight", BarcodeRead: "scan"}
    data = _json_value(asdict(reading))
    assert isinstance(data, dict)
    return {
        "kind": kind[type(reading)],
        **{k: str(v) if k == "direction" else v for k, v in data.items()},
    }


class _Replayer:
    """One replay; see the module docstring."""

    def __init__(
        self, session: Session, settings: ReplaySettings, config: CartConfig, work: Path
    ) -> None:
        meta = session.meta
        self.session = session
        self.settings = settings
        self.clock = SimClock(meta.t_start, meta.wall_at_start)
        loaded = LoadedConfig(config, None, session.folder)
        try:
            self.catalog = Catalog.open(
                work / "catalog.sqlite3", variable_measure=scheme_from_config(loaded)
            )
            self.catalog.import_json(session.catalog_path)
        except CatalogError as exc:
            raise SessionError(f"{session.catalog_path}: {exc}") from exc
        self.ledger = Ledger.open(work / "ledger.sqlite3", self.clock)
        policy = PricingPolicy(
            tax_rates=self.catalog.tax_rates(),
            tax_included=self.catalog.store_info().tax_included,
            weight_increment_g=config.pricing.weight_increment_g,
        )
        prompt_ids = (f"p{n:05d}" for n in itertools.count(1))
        session_ids = (f"{meta.session_id}-{n}" for n in itertools.count(1))
        self.fuser = Fuser(
            self.catalog,
            FusionSettings.from_config(config.fusion),
            self.clock,
            new_id=lambda: next(prompt_ids),
        )
        self.engine = Engine(
            self.ledger,
            self.catalog,
            policy,
            self.clock,
            EngineSettings(
                cart_id=config.cart_id,
                prompt_timeout_s=config.fusion.prompt_timeout_s,
                inbox_poll_s=config.engine.inbox_poll_s,
                stop_timeout_s=config.engine.stop_timeout_s,
                budget_cap_cents=config.pricing.budget_cap_cents,
                budget_warn_ratio_bp=config.pricing.budget_warn_ratio_bp,
            ),
            fuser=self.fuser,
            new_id=lambda: next(session_ids),
        )
        self.engine.restore()
        self.engine.subscribe(self._heard)
        recogniser = open_recogniser(session.gallery_path, meta.model, config)
        self.cameras = [build_camera(frames, config, recogniser) for frames in session.cameras]
        self.scale: ScaleReplay | None = None
        if meta.scale is not None:
            self.scale = ScaleReplay(
                meta.scale.protocol, scale_settings(loaded), self.clock, session.calibration_path
            )
        self.per_kg = frozenset(
            p.sku for p in self.catalog.products() if p.pricing_mode is PricingMode.PER_KG
        )
        self.responder: Responder = NoResponder()
        if settings.shopper and meta.truth is not None:
            gtins = {p.sku: p.gtins[0] for p in self.catalog.products() if p.gtins}
            truth = read_truth(session.path(meta.truth))
            self.responder = TruthShopper(truth, gtins, self.per_kg)
        self.result = ReplayResult(document={})
        self._lines: dict[int, tuple[str, int, float]] = {}
        self._prompts: set[str] = set()
        self.checkout = "not requested"
        self._queue: list[tuple[float, int, int, Any]] = []
        self._seq = itertools.count()

    # -- the engine's side -------------------------------------------------------------------
    def _heard(self, event: EngineEvent) -> None:
        now = self.clock.monotonic()
        if isinstance(event, CommandRejected):
            self._log(now, "rejected", command=type(event.command).__name__, reason=event.reason)
            return
        if not isinstance(event, CartSnapshot):
            self._log(now, "fault", message=event.message)
            return
        basket = event.basket
        lines = {line.line_id: (line.sku, line.quantity, line.weight_g) for line in basket.lines}
        for line in basket.lines:
            before = self._lines.get(line.line_id)
            if before is None or before[1] != line.quantity:
                diff = line.quantity - (before[1] if before else 0)
                source = line.evidence[-1].source.value if line.evidence else "none"
                kind = "add" if diff > 0 else "remove"
                self._change(
                    LineChange(now, kind, line.line_id, line.sku, abs(diff), line.weight_g, source)
                )
        for line_id, (sku, quantity, weight) in self._lines.items():
            if line_id not in lines:
                self._change(LineChange(now, "remove", line_id, sku, quantity, weight, "none"))
        self._lines = lines
        for prompt in basket.pending_prompts:
            if prompt.prompt_id not in self._prompts:
                self._prompts.add(prompt.prompt_id)
                self._log(
                    now,
                    "prompt",
                    prompt_id=prompt.prompt_id,
                    reason=prompt.reason,
                    choices=list(prompt.choices),
                )
                self.result.prompts.append(
                    PromptSeen(now, prompt.prompt_id, prompt.reason, prompt.choices, None)
                )

    def _change(self, change: LineChange) -> None:
        self.result.lines.append(change)
        self._log(
            change.t,
            f"line_{change.kind}",
            line_id=change.line_id,
            sku=change.sku,
            quantity=change.quantity,
            weight_g=round(change.weight_g, 3),
            source=change.source,
        )

    def _log(self, t: float, kind: str, **fields: object) -> None:
        self.result.events.append({"t": round(t, 6), "kind": kind, **fields})

    def _handle(self, command: Command | Sensed) -> EngineEvent:
        event = self.engine.handle(command)
        self.engine.tick()
        return event

    def _deliver(self, reading: ItemObservation | WeightChange | BarcodeRead) -> None:
        self.result.events.append({"t": round(self.clock.monotonic(), 6), **_reading(reading)})
        self._handle(Sensed(reading))

    def _input(self, item: SessionInput) -> None:
        self._log(item.t, "input", input=json.loads(item.model_dump_json(exclude_none=True)))
        target = to_engine(item)
        if isinstance(target, PromptTarget):
            answer = self._answer(target)
            if answer is None:
                return
            command: Command | Sensed = answer
        else:
            command = target
        event = self._handle(command)
        if isinstance(command, RequestCheckout):
            if isinstance(event, CommandRejected):
                self.checkout = f"refused: {event.reason}"
                self.responder.checkout_refused(self.clock.monotonic())
            else:
                self.checkout = "accepted"

    def _answer(self, target: PromptTarget) -> Answer | None:
        """The open prompt an answer was for: the newest with its reason offering it (a
        product named through "something else" goes to the newest that offers that)."""
        pending = list(reversed(self.engine.snapshot.basket.pending_prompts))
        exact = [p for p in pending if target.answer in p.choices]
        fits = exact or [p for p in pending if accepts(p.choices, target.answer)]
        same = [p for p in fits if p.reason == target.prompt_reason]
        chosen = next(iter(same or fits), None)
        if chosen is None:
            self._log(self.clock.monotonic(), "unmatched_answer", answer=target.answer)
            return None
        return Answer(chosen.prompt_id, target.answer, target.answered_by)

    # -- the loop ----------------------------------------------------------------------------
    def _push(self, t: float, order: int, payload: Any) -> None:
        heapq.heappush(self._queue, (t, order, next(self._seq), payload))

    def _next_frame(self, camera: CameraReplay, frames: Iterator[tuple[float, Path]]) -> None:
        nxt = next(frames, None)
        if nxt is None:
            last = camera.frames.frames[-1][1] if camera.frames.frames else 0.0
            self._push(last, _CAMERA_END, camera)
        else:
            self._push(nxt[0], _FRAME, (camera, frames, nxt[1]))

    def run(self) -> ReplayResult:
        meta = self.session.meta
        for camera in self.cameras:
            self._next_frame(camera, camera.stream())
        wire = iter(e for e in self.session.wire if e.direction.value == "rx")
        first = next(wire, None)
        if first is not None:
            self._push(first.t, _SCALE, (first, wire))
        for link in self.session.links:
            self._push(link.t, _LINK, link)
        for item in read_inputs(self.session.path(meta.inputs)):
            self._push(item.t, _INPUT, item)
        next_tick = meta.t_start
        limit = meta.t_end + self.settings.tail_s
        while True:
            t_event = self._queue[0][0] if self._queue else float("inf")
            if next_tick <= t_event:
                if next_tick > limit or (
                    not self._queue and next_tick >= meta.t_end and self._idle()
                ):
                    break
                self.clock.set(next_tick)
                self.engine.tick()
                next_tick = round(next_tick + self.settings.tick_s, 6)
            else:
                t, order, _, payload = heapq.heappop(self._queue)
                self.clock.set(t)
                self._step(order, payload)
            self._respond()
        self.result.t_end = self.clock.monotonic()
        return self._finish()

    def _idle(self) -> bool:
        state = self.fuser.state
        return not state.weights and not state.observations

    def _respond(self) -> None:
        now = self.clock.monotonic()
        snapshot = self.engine.snapshot
        for scheduled in self.responder.observe(now, snapshot.basket, self.fuser.state):
            self._push(max(scheduled.t, now), _SCHEDULED, scheduled.item)

    def _step(self, order: int, payload: Any) -> None:
        if order == _FRAME:
            camera, frames, path = payload
            self.result.frames += 1
            for obs in camera.process(path, self.clock.monotonic()):
                self._deliver(obs)
            self._next_frame(camera, frames)
        elif order == _SCALE:
            entry, wire = payload
            self.result.chunks += 1
            assert self.scale is not None
            for change in self.scale.feed(entry):
                self._deliver(change)
            nxt = next(wire, None)
            if nxt is not None:
                self._push(nxt.t, _SCALE, (nxt, wire))
        elif order == _CAMERA_END:
            for obs in payload.finish():
                self._deliver(obs)
        elif order == _LINK:
            # A lost link drops its partial frame; the next bytes open a new link session
            # (and, after the first, reset the filter's baseline as a reconnect does).
            if self.scale is not None and payload.event == "lost":
                self.scale.link_lost()
        elif payload is not None:  # an input, recorded or from the simulated shopper
            self._input(payload)
        else:  # the simulated people wanted the replay awake now (a prompt's deadline)
            self.engine.tick()

    def _finish(self) -> ReplayResult:
        meta = self.session.meta
        snapshot = self.engine.snapshot
        if self.checkout == "accepted" and snapshot.basket.state.value == "shopping":
            self.checkout = "reopened after checkout"
        for prompt in list(self.result.prompts):
            action = self.responder.action_of(prompt.prompt_id)
            if action is not None:
                index = self.result.prompts.index(prompt)
                self.result.prompts[index] = PromptSeen(
                    prompt.t, prompt.prompt_id, prompt.reason, prompt.choices, action
                )
        self.result.document = receipt_json.receipt_document(
            snapshot, session_id=meta.session_id, checkout=self.checkout, per_kg=self.per_kg
        )
        session_id = snapshot.basket.session_id
        if session_id:
            for entry in self.ledger.entries(session_id):
                kind, payload = encode_record(entry.record)
                self.result.events.append(
                    {
                        "t": round(entry.t_wall - meta.wall_at_start + meta.t_start, 6),
                        "kind": "ledger",
                        "seq": entry.seq,
                        "record": kind,
                        "payload": json.loads(payload),
                    }
                )
        return self.result

    def close(self) -> None:
        self.ledger.close()
        self.catalog.close()


def _fast_tmp() -> str | None:
    """A RAM-backed temporary folder when there is one: the ledger syncs every command."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and _writable(shm) else None


def _writable(path: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def replay(
    session: Session,
    settings: ReplaySettings | None = None,
    *,
    config: CartConfig | None = None,
) -> ReplayResult:
    """Replay ``session`` (with ``config`` in place of its own, to try other settings)."""
    with tempfile.TemporaryDirectory(prefix="smartcart-replay-", dir=_fast_tmp()) as work:
        replayer = _Replayer(
            session, settings or ReplaySettings(), config or session.config, Path(work)
        )
        try:
            return replayer.run()
        finally:
            replayer.close()


def write_events(path: Path, result: ReplayResult) -> None:
    """The event log: one JSON object a line, in the order things happened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for event in result.events:
            fh.write(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n")
