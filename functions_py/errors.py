"""One error tree for supakit.

Every class's docstring is its default message; data travels as attributes; every message says what to
do next. `exit_code` is what the CLI exits with when the error reaches it (docs/cli.md, "Exit codes").
"""

from __future__ import annotations

EXIT_FAILURE = 1  # an operation ran and failed (a migration error, drift found, lint violations)
EXIT_BAD_INPUT = 2  # the input is wrong (a malformed file name, a bad option); same code as click's usage errors
EXIT_UNAVAILABLE = 3  # the database cannot be reached or is not running


class SupakitError(Exception):
    """supakit failed."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str | None = None, **attrs: object) -> None:
        self.message = message or (self.__doc__ or "").strip()
        for key, value in attrs.items():
            setattr(self, key, value)
        super().__init__(self.message)


class ConfigError(SupakitError):
    """A setting is invalid; check the environment variables and options named in README."""

    exit_code = EXIT_BAD_INPUT


class DatabaseUnavailable(SupakitError):
    """The database cannot be reached; check DATABASE_URL, or run `supakit db start`."""

    exit_code = EXIT_UNAVAILABLE


class EmbeddedDatabaseError(SupakitError):
    """The embedded PostgreSQL could not be managed; see its log under the data directory."""


class MigrationFileError(SupakitError):
    """A migration file is malformed; rename or fix it as the message says."""

    exit_code = EXIT_BAD_INPUT


class MigrationFailed(SupakitError):
    """A migration failed and was rolled back; fix the file and run `supakit migrate` again."""


class DriftDetected(SupakitError):
    """The database and the migration files disagree; see `supakit migrate status`."""


class RequestError(SupakitError):
    """The database refused a request made as a PostgREST client would make it.

    Attributes mirror PostgREST's response: `status` (HTTP), `code` (SQLSTATE), `message`, `details`,
    `hint`.
    """
