"""The trip generator: shopping trips on the demo store, written as sessions with their truth.

- :mod:`.plan` decides what the shopper does and when (seeded);
- :mod:`.frames` renders what the basket camera sees (the project's product renders);
- :mod:`.scalebytes` runs the scale simulator's physics and cart board to get the wire bytes;
- :mod:`.generate` writes each trip as a session folder (``smartcart simulate-trips``).
"""
