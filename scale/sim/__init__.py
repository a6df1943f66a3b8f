"""The scale simulator: a physically plausible basket speaking any supported protocol."""
