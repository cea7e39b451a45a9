"""Job handlers. Importing this package registers every built-in handler in functions_py.jobs.registry."""
