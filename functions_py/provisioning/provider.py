"""The provider interface: what a cloud (or this machine) must do for the saga, and the errors it raises.

A provider creates and removes one customer's resources. Every `create_*` is idempotent by `ctx.key` (the step's
idempotency key, `<run id>:<step>`): called again after a crash it finds what it made before and returns it
instead of making a second one. Every `remove_*` is idempotent too, and works with `output=None` (the step failed
or was interrupted before its output was recorded) by finding resources from the customer and the key alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError, SupakitError

DEFAULT_PROVIDER = "local"

# Our plans mapped to the instance sizes of the seeds' offer (starter / business / enterprise).
INSTANCE_TYPES = {"free": "t3.micro", "pro": "t3.small", "team": "t3.medium"}
DEFAULT_INSTANCE_TYPE = "t3.micro"


def instance_type_for(plan_id: str) -> str:
    """The EC2 instance type of a plan: free t3.micro (starter), pro t3.small (business), team t3.medium
    (enterprise); an unknown plan gets the smallest."""
    return INSTANCE_TYPES.get(plan_id, DEFAULT_INSTANCE_TYPE)


class StepError(SupakitError):
    """A provisioning step failed."""


class PermanentStepError(StepError):
    """The step cannot succeed as things are; the run is rolled back."""


class RetryableStepError(StepError):
    """The step may succeed later (a timeout, a throttled API); the job is retried and resumes at this step."""


@dataclass(frozen=True)
class Customer:
    """The organization being provisioned, as providers see it."""

    organization_id: UUID
    slug: str
    name: str
    plan_id: str
    run_id: UUID

    @property
    def short_id(self) -> str:
        return self.organization_id.hex[:12]


@dataclass
class StepContext:
    """What one step call gets: the customer, its idempotency key, the outputs of the steps done before it (by
    step name), and `notes` the provider may append to (written to the run's log after the call)."""

    customer: Customer
    key: str
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(message)


class Provider(ABC):
    """One customer's infrastructure on one platform. Methods are synchronous (the saga calls them in a thread)
    and return JSON-able dicts: the step's output, recorded in provisioning_steps and customer_infrastructure."""

    name: str

    @abstractmethod
    def subdomain_for(self, customer: Customer) -> str:
        """The customer's host name."""

    @abstractmethod
    def create_instance(self, ctx: StepContext) -> dict[str, Any]:
        """A machine (or database) sized by the customer's plan; output has `public_address` when it has one."""

    @abstractmethod
    def remove_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def create_dns_record(self, ctx: StepContext) -> dict[str, Any]:
        """The customer's subdomain pointing at the instance; output has `subdomain`."""

    @abstractmethod
    def remove_dns_record(self, ctx: StepContext, output: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def create_mail_identity(self, ctx: StepContext) -> dict[str, Any]:
        """A sending identity for the customer's subdomain."""

    @abstractmethod
    def remove_mail_identity(self, ctx: StepContext, output: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def deploy_apps(self, ctx: StepContext) -> dict[str, Any]:
        """The customer's applications' configuration, rendered and published where the instance reads it."""

    @abstractmethod
    def remove_apps(self, ctx: StepContext, output: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def check_health(self, ctx: StepContext) -> dict[str, Any]:
        """Check that everything the earlier steps made is there and reachable; raise a StepError if not."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and connections."""

    # -- resize (functions_py/provisioning/resize.py): every method idempotent by ctx.key, like the ones above.
    # ctx.outputs has `current` (the infrastructure's recorded resources: instance, dns, mail, deploy), `target`
    # (instance_type, plan_id) and the outputs of the resize steps done before.

    def snapshot_instance(self, ctx: StepContext) -> dict[str, Any]:
        """A snapshot of the running instance (it keeps serving); output has `source`, the instance it copies."""
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def launch_from_snapshot(self, ctx: StepContext) -> dict[str, Any]:
        """A new instance of the target type from the snapshot; output as create_instance's."""
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def remove_launched_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def verify_launched_instance(self, ctx: StepContext) -> dict[str, Any]:
        """Check the new instance runs, has the target type and holds the snapshot's data."""
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def switch_dns(self, ctx: StepContext) -> dict[str, Any]:
        """Point the customer's subdomain (and app config) at the new instance."""
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def switch_dns_back(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    def retire_instance(self, ctx: StepContext) -> dict[str, Any]:
        """Remove the replaced instance (and the snapshots of earlier resizes)."""
        raise PermanentStepError(f"the {self.name} provider cannot resize instances.")

    # -- health and usage (functions_py/provisioning/health.py) ----------------------------------------------

    def site_url(self, customer: Customer) -> str:
        """Where the customer's deployed site answers (the HTTP health check's default target)."""
        return f"https://{self.subdomain_for(customer)}/"

    def instance_state(self, customer: Customer, resources: dict[str, Any]) -> dict[str, Any]:
        """The provider's view of the customer's instance: `state` (running, stopped, missing, ...), `ok`, and
        `detail`."""
        raise PermanentStepError(f"the {self.name} provider cannot report instance health.")

    def usage(self, customer: Customer, resources: dict[str, Any], since: datetime) -> dict[str, Any]:
        """`storage_bytes`, `bandwidth_bytes` (since `since`; None when not measured) and `sources`, where each
        figure came from."""
        raise PermanentStepError(f"the {self.name} provider cannot report usage.")


def data_dir() -> Path:
    """supakit's data directory (`--data-dir`, SUPAKIT_DATA_DIR, else <project>/.supakit), from the process's
    settings (functions_py.config.current())."""
    return config.current().data_dir


def step_delay_s() -> float:
    """SUPAKIT_PROVISIONING_STEP_DELAY_S: seconds each step waits after its action, before it is recorded as done
    (0 by default). For demos (watch progress arrive) and crash drills (kill a worker inside a step)."""
    return float(config.current().provisioning.step_delay_s)


def provider_name() -> str:
    """SUPAKIT_PROVISIONING_PROVIDER: `local` (default) or `aws`."""
    return config.current().provisioning.provider or DEFAULT_PROVIDER


def make_provider(name: str, database_url: str) -> Provider:
    """The provider called `name`, configured from the process's settings (docs/provisioning-guide.md).
    The providers are found through PROVIDERS, filled in by the modules that define them (no import cycle)."""
    factory = PROVIDERS.get(name) or _import_provider(name)
    return factory(config.current(), database_url)


# name -> (settings, database_url) -> Provider; functions_py.provisioning.local and .aws register themselves
PROVIDERS: dict[str, Callable[[Settings, str], Provider]] = {}


def _import_provider(name: str) -> Callable[[Settings, str], Provider]:
    import importlib

    if name not in ("local", "aws"):
        raise ConfigError(f"unknown provisioning provider {name!r}; use local or aws.")
    importlib.import_module(f"functions_py.provisioning.{name}")
    return PROVIDERS[name]
