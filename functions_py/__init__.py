"""supakit's Python service layer: the parts of the backend that need secrets or long work."""

__version__ = "0.1.0"
