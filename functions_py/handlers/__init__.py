"""Job handlers. `functions_py.handlers.builtin.load_all()` imports them, which registers each in
functions_py.jobs.registry.registry."""
