"""Adapters that turn source-specific files (national networking files, vendor exports) into canonical tables."""

from __future__ import annotations

import importlib
import logging

from pipelines.adapters.base import Profile

log = logging.getLogger(__name__)

# (module, class) of every profile ingest offers files to, in the order they are asked to claim a file;
# imported lazily so that a profile missing or broken leaves canonical ingest and the others working
PROFILES: tuple[tuple[str, str], ...] = (
    ("pipelines.adapters.national42", "National42"),
    ("pipelines.adapters.webgas", "VendorCsv"),
)


def load_profiles() -> list[Profile]:
    """One instance of every registered profile that imports; the others are logged and left out."""
    profiles: list[Profile] = []
    for module_name, class_name in PROFILES:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            profiles.append(cls())
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                log.warning("profile %s.%s left out: %s", module_name, class_name, exc)
            else:
                log.debug("profile module %s not present", module_name)
        except Exception as exc:  # a broken profile must not stop canonical ingest
            log.warning("profile %s.%s left out: %s: %s", module_name, class_name, type(exc).__name__, exc)
    return profiles
