"""Local stand-ins for external services, for tests that run real clients without a network."""
