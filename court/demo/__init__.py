"""The simulated hearing: the demo run, its script, seeded cases and face material."""
