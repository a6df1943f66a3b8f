"""The scale's side of a generated trip: physics, the simulated device, and the wire bytes.

Loads (items put down and lifted, leans on the handle, pushes) are applied to the scale
simulator's :class:`~scale.sim.physics.BasketModel` at their times, and a simulated device of
the configured protocol turns the model into the bytes the cart would read, in the chunks a
serial read of ``read_tick_s`` returns. The bytes go through the production parser and filter
at replay; nothing here knows about weight changes.

:func:`physical_settle_s` is the ground truth for latency: how long after a step of ``Δ`` grams
the noise-free response stays within ``1 g + 0.2 % · |Δ|`` of its final value (the scale
filter benchmark's definition of the physical settle).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from scale.sim.device import make_device
from scale.sim.physics import POSITIONS, BasketModel, BasketParams
from scale.wirelog import Direction, WireEntry

LoadKind = Literal["put", "take", "lean", "push"]


@dataclass(frozen=True, slots=True)
class Load:
    """Something that changes what the cells carry, at ``t``.

    ``put``/``take``: an item of ``grams`` (``ref`` names it, so the same item comes out);
    ``lean``: a hand on the handle with ``grams`` for ``duration_s``; ``push``: the cart
    rolls for ``duration_s``.
    """

    t: float
    kind: LoadKind
    grams: float = 0.0
    ref: str = ""
    position: str = "centre"
    duration_s: float = 0.0


@functools.lru_cache(maxsize=4096)
def physical_settle_s(delta_g: float, params: BasketParams | None = None) -> float:
    """Seconds after a step of ``delta_g`` until the response stays within the error target."""
    p = params or BasketParams()
    zeta, wn = p.damping_ratio, p.natural_rad_s
    wd = wn * math.sqrt(1 - zeta * zeta)
    tau = np.arange(0.0, 3.0, 0.0005)
    error = np.exp(-zeta * wn * tau) * (np.cos(wd * tau) + zeta * wn / wd * np.sin(wd * tau))
    bound = (1.0 + 0.002 * abs(delta_g)) / max(abs(delta_g), 1e-9)
    outside = np.flatnonzero(np.abs(error) > bound)
    return float(tau[outside[-1]]) + 0.0005 if len(outside) else 0.0


def wire_bytes(
    loads: Sequence[Load],
    *,
    t_start: float,
    t_end: float,
    seed: int,
    protocol: str = "cartboard",
    params: BasketParams | None = None,
    read_tick_s: float = 0.02,
) -> list[WireEntry]:
    """The chunks the cart reads from ``t_start`` (power-up) to ``t_end``, with their times.

    ``protocol`` must be one the device streams unasked (``cartboard``, ``continuous``).
    """
    model = BasketModel(params or BasketParams(), seed=seed, t0=t_start)
    device = make_device(protocol, model)
    if not device.protocol.streaming:
        # A polled scale answers the cart's requests; the generator does not play the cart.
        raise ValueError(f"{protocol}: only scales that stream unasked can be generated")
    entries: list[WireEntry] = []
    boot = device.boot(t_start)
    pending = bytearray(boot)
    probe = device.protocol.encode_identify
    if probe is not None:
        # The cart sends its identify probe when it opens the port; the answer comes back.
        request = probe()
        entries.append(WireEntry(t_start, Direction.TX, request))
        pending += device.receive(request, t_start)
    refs: dict[str, int] = {}
    order = sorted(loads, key=lambda load: load.t)
    i = 0
    steps = math.ceil((t_end - t_start) / read_tick_s)
    for k in range(1, steps + 1):
        t = round(t_start + k * read_tick_s, 6)
        while i < len(order) and order[i].t <= t:
            _apply(model, order[i], refs)
            i += 1
        pending += device.advance(t)
        if pending:
            entries.append(WireEntry(t, Direction.RX, bytes(pending)))
            pending.clear()
    return entries


def _apply(model: BasketModel, load: Load, refs: dict[str, int]) -> None:
    # A change takes effect at the model's last step, so step to the load's own time first.
    if load.t > model.t:
        model.step(load.t)
    if load.kind == "put":
        refs[load.ref] = model.put(load.grams, POSITIONS[load.position]).item_id
    elif load.kind == "take":
        model.remove(refs.pop(load.ref))
    elif load.kind == "lean":
        model.lean(load.grams, load.duration_s)
    else:
        model.set_pushing(True, load.duration_s)
