"""A package of the probe's, imported at init through the engine's finder."""
