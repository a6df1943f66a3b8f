"""Scale wire protocols: one module each, a pure parser plus framing and command encoders.

``PROTOCOLS`` maps the configuration's protocol name to its :class:`Protocol` descriptor::

    proto = get_protocol("mt-sics")
    framer = proto.new_framer()
    for frame in framer.feed(chunk):
        result = proto.parse_frame(frame)   # Reading | Reply | CellFrame | Garbage

The formats and their sources are in docs/scale-protocols.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scale.protocols import cartboard, continuous, mt_sics, nci, toledo_8217
from scale.protocols.base import (
    CellFrame,
    Framer,
    Garbage,
    ParseResult,
    Protocol,
    ProtocolError,
    Reading,
    ReadingStatus,
    Reply,
    SerialSettings,
)

PROTOCOLS: Mapping[str, Protocol] = MappingProxyType(
    {
        module.PROTOCOL.name: module.PROTOCOL
        for module in (cartboard, mt_sics, toledo_8217, nci, continuous)
    }
)


def get_protocol(name: str) -> Protocol:
    """The protocol registered under ``name``; ``ValueError`` lists the known names otherwise."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ValueError(f"unknown scale protocol {name!r} (known: {known})") from None


__all__ = [
    "PROTOCOLS",
    "CellFrame",
    "Framer",
    "Garbage",
    "ParseResult",
    "Protocol",
    "ProtocolError",
    "Reading",
    "ReadingStatus",
    "Reply",
    "SerialSettings",
    "get_protocol",
]
