"""supakit's command line (the `supakit` console script)."""
