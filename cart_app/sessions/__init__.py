"""Recorded sessions: the format, the recorder, the replayer and the trip generator.

A *session* is one shopping trip on disk, as the cart's sensors delivered it: camera frames,
the scale's raw serial bytes and the shopper's and staff's inputs, each with its time on the
cart's monotonic clock, plus the configuration, catalog and recognition gallery in effect
(``docs/session-format.md``). Replaying a session runs it through the real pipeline on a
simulated clock and gives the same receipt, byte for byte, every time.

- :mod:`.format` — ``session.json`` and the checks every session passes on load;
- :mod:`.inputs` — the shopper's and staff's inputs (``inputs.jsonl``);
- :mod:`.truth` — a generated trip's true receipt and physical actions (``truth.json``);
- :mod:`.replay` — the replayer (with :mod:`.replay_vision` and :mod:`.replay_scale`);
- :mod:`.shopper` — the simulated shopper who answers prompts in generated trips;
- :mod:`.receipt_json` — the receipt file and its comparison with the truth;
- :mod:`.recorder` — the part that records a live cart;
- :mod:`.sim` — the trip generator (``smartcart simulate-trips``).
"""
