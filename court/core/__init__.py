"""The hearing's core: the event catalogue and timeline, the lifecycle, cases and roles."""
