"""View-models: plain Python (no Kivy) that turn the core's snapshots into what screens show.

Each view-model takes the engine's :class:`~cart_app.engine.CartSnapshot` (or part of it) and
produces frozen ``*View`` values with every string already formatted and translated; screens
only copy those values into widgets. Actions come back as engine commands for the caller to
submit. Everything here is tested without a display.
"""
