"""The migration engine: compat, versioned and repeatable SQL files, a ledger, and export for the Supabase CLI."""
