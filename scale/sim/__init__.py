"""The scale simulator: a physically plausible basket speaking any supported protocol.

- :mod:`scale.sim.physics`: the basket on four load cells (time passed in, seeded).
- :mod:`scale.sim.device`: one simulated scale per wire protocol (bytes in, bytes out).
- :mod:`scale.sim.script`: the command words and timeline scripts.
- :mod:`scale.sim.server`: real-time serving over a pty pair or a TCP port.
- :mod:`scale.sim.cli`: ``smartcart scale-sim``.

See docs/scale-simulator.md.
"""
