"""Every contract check, in the order they run: the one list the pytest suite and `verify` both iterate."""

from __future__ import annotations

from .checking import Check
from .lifecycle_checks import lifecycle_checks
from .properties import property_checks
from .route_checks import route_checks

CHECKS: tuple[Check, ...] = (*property_checks(), *route_checks(), *lifecycle_checks())
