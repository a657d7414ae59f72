"""Find pipelines through the ``creative_gan.pipelines`` entry-point group (the plugin registry)."""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .errors import UsageError
from .plugin import PipelinePlugin

GROUP = "creative_gan.pipelines"


@lru_cache(maxsize=None)
def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def pipeline_names() -> list[str]:
    """Names of every registered pipeline, sorted."""
    return sorted(_entry_points())


@lru_cache(maxsize=None)
def get_plugin(name: str) -> PipelinePlugin:
    """The plugin registered as ``name``; a clear error names the registered ones otherwise."""
    eps = _entry_points()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise UsageError(f"unknown pipeline {name!r} (registered: {known})")
    try:
        plugin = eps[name].load()
    except Exception as exc:  # a broken third-party plugin must not take the CLI down with it
        raise UsageError(f"pipeline {name!r} failed to load ({type(exc).__name__}: {exc})") from None
    if not isinstance(plugin, PipelinePlugin):
        raise UsageError(f"entry point {name!r} does not name a PipelinePlugin instance")
    return plugin
