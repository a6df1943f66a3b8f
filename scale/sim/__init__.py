"""The scale simulator: a physically plausible basket speaking any supported protocol.

- :mod:`scale.sim.physics`: the basket on four load cells (time passed in, seeded).
- :mod:`scale.sim.device`: one simulated scale per wire protocol (bytes in, bytes out), built
  from :mod:`scale.sim.device_base`, :mod:`scale.sim.cartboard_device` and
  :mod:`scale.sim.indicator_devices`.
- :mod:`scale.sim.script`: the command words and timeline scripts.
- :mod:`scale.sim.server`: real-time serving over :mod:`scale.sim.pty_transport` or
  :mod:`scale.sim.tcp_transport` (both :mod:`scale.sim.transport`).
- :mod:`scale.sim.cli`: ``smartcart scale-sim``.

See docs/scale-simulator.md.
"""
