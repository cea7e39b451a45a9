"""One error tree for supakit.

Every class's docstring is its default message; data travels as attributes; every message says what to
do next. `exit_code` is what the CLI exits with when the error reaches it (docs/cli.md, "Exit codes").
"""

from __future__ import annotations

EXIT_FAILURE = 1  # an operation ran and failed (a migration error, drift found, lint violations)
EXIT_BAD_INPUT = 2  # the input is wrong (a malformed file name, a bad option); same code as click's usage errors
EXIT_UNAVAILABLE = 3  # the database cannot be reached or is not running

# What each exit code means, as docs/cli.md prints it (tools/gen_docs.py) and tests/test_cli_failures.py checks it.
EXIT_CODES = {
    0: "Success.",
    EXIT_FAILURE: "The operation ran and failed: a migration error (rolled back; the message names `file:line`), "
                  "drift, lint violations, the embedded database could not start (a directory that is not a "
                  "cluster, a server still running from a deleted data directory), an unknown job id or Stripe "
                  "event, `jobs stats --check` over a threshold, nothing to provision or retry, `reset` blocked by "
                  "something that holds the database (a permanent replication slot).",
    EXIT_BAD_INPUT: "Bad input: an unknown command or option, a bad option or setting (the message names the "
                    "setting, the value and what is expected), a port a server needs held by another process (the "
                    "message names the port and the process), a malformed migration file name, a duplicate "
                    "version, transaction control inside a migration file, reset of a remote database without "
                    "`--force`, an unknown organization (`--org` takes a slug or an id) or e-mail.",
    EXIT_UNAVAILABLE: "The database cannot be reached (a malformed `DATABASE_URL` too, a stray newline in it "
                      "included), the embedded database is not running (`db status` too), or it went away while "
                      "`supakit up` ran.",
}


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


class PortInUse(ConfigError):
    """A TCP port a server needs is taken; stop what listens there or choose another port."""


class DatabaseInUse(SupakitError):
    """Something holds the database the command must drop; stop it and run the command again."""


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
