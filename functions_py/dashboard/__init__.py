"""The local dashboard served by `supakit serve` at http://127.0.0.1:54323 (docs/dashboard.md)."""

from functions_py.dashboard.app import DashboardConfig, build
from functions_py.dashboard.server import dashboard_config, dashboard_for, dashboard_server, run

__all__ = ["DashboardConfig", "build", "dashboard_config", "dashboard_for", "dashboard_server", "run"]
