"""The creative_gan web app: one Gradio page with a tab per registered pipeline, plus the GAN Lab.

    creative-gan demo [--host 127.0.0.1] [--port 7860] [--models DIR] [--concurrency N]

A pipeline gets a tab when its plugin names a ``demo_builder`` (``"module:build_<name>_demo"``), so a
third-party plugin adds a tab the same way as the built-ins. Offline and safe by default: analytics off,
no share link, the default theme (its fonts are served locally), uploads capped by ``max_file_size`` and
checked by content, only the packaged example folder served from the package, one queue where heavy
events (renders, training) share ``--concurrency`` slots and light ones (a note, a plot) have their own.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from .common import EXAMPLES_DIR, LIGHT_LIMIT, MAX_FILE_SIZE, heavy_limit, offline_environment

GANLAB = "ganlab"
TITLE = "creative_gan"
#: built-in tabs come first in this order; other pipelines follow by name, the GAN Lab comes last
TAB_ORDER = ("audio", "font", "anime", "digits")


class _Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing usage and exiting."""

    def error(self, message):  # noqa: D401
        from creative_gan.errors import UsageError

        raise UsageError(f"demo: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="creative-gan demo", description="Start the creative_gan web app.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--models", help="folder of release models: DIR/<model name> or DIR/<pipeline> "
                                          "replaces a pipeline's shipped default")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="renders / training runs served at once (default 2); light requests have their own")
    parser.add_argument("--tabs", help="comma-separated tabs to show (default: every pipeline with a tab, "
                                       f"and {GANLAB})")
    return parser


def tab_specs(only: list[str] | None = None) -> list[tuple[str, str, str | None]]:
    """``[(pipeline name, "module:function", default model)]`` for registered pipelines that have a tab."""
    from creative_gan.errors import CreativeGANError
    from creative_gan.registry import get_plugin, pipeline_names

    specs = []
    names = pipeline_names()
    for name in [n for n in TAB_ORDER if n in names] + [n for n in names if n not in TAB_ORDER]:
        if only is not None and name not in only:
            continue
        try:
            plugin = get_plugin(name)
        except CreativeGANError:
            continue                              # a broken plugin loses its tab, not the app
        if plugin.demo_builder:
            specs.append((name, plugin.demo_builder, plugin.default_model))
    return specs


def model_location(name: str, default_model: str | None, models_dir: str | None) -> str:
    """Where a tab's model comes from: ``models_dir/<default_model>``, ``models_dir/<name>``, else the shipped one."""
    if models_dir:
        for candidate in (default_model, name):
            if candidate and (Path(models_dir) / candidate).exists():
                return str(Path(models_dir) / candidate)
    if default_model:
        return default_model
    from creative_gan.errors import UsageError

    raise UsageError(f"pipeline {name!r} names no default model; put one in --models DIR/{name}")


def _load_builder(target: str):
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def build_app(models_dir: str | None = None, concurrency: int = 2, tabs: list[str] | None = None):
    """The whole page as a ``gr.Blocks`` (not launched). ``tabs``: names to include (None: all)."""
    offline_environment()
    import gradio as gr

    import creative_gan
    from creative_gan.errors import CreativeGANError

    specs = tab_specs(tabs)
    want_lab = tabs is None or GANLAB in tabs
    with heavy_limit(concurrency), gr.Blocks(title=TITLE, analytics_enabled=False,
                                             delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"# {TITLE}\nGANs for creative work: one tab per pipeline, and a GAN Lab on 2-D points.")
        with gr.Tabs():
            for name, target, default_model in specs:
                with gr.Tab(name.capitalize(), id=name, elem_id=f"tab-{name}"):
                    try:
                        pipe = creative_gan.load(model_location(name, default_model, models_dir))
                        builder = _load_builder(target)
                    except (CreativeGANError, ImportError, AttributeError, OSError) as exc:
                        gr.Markdown(f"**This tab is unavailable:** {str(exc).splitlines()[0]}")
                        continue
                    builder(pipe)
            if want_lab:
                from .ganlab import build_ganlab_demo

                with gr.Tab("GAN Lab", id=GANLAB, elem_id=f"tab-{GANLAB}"):
                    build_ganlab_demo(None)
    demo.queue(default_concurrency_limit=LIGHT_LIMIT, max_size=64)
    return demo


def launch_options(host: str = "127.0.0.1", port: int | None = 7860) -> dict:
    """Keyword arguments of ``demo.launch`` that keep the app offline and its file serving narrow."""
    return {"server_name": host, "server_port": port, "share": False, "max_file_size": MAX_FILE_SIZE,
            "allowed_paths": [str(EXAMPLES_DIR)], "footer_links": [], "ssr_mode": False,
            "pwa": False, "mcp_server": False, "enable_monitoring": False, "show_error": False}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``creative-gan demo``: build the app and serve it until interrupted."""
    args = _parser().parse_args(argv)
    from creative_gan.errors import UsageError

    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1 (got {args.concurrency})")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be 1-65535 (got {args.port})")
    if args.models and not Path(args.models).is_dir():
        raise UsageError(f"--models {args.models}: not a folder")
    tabs = [t.strip() for t in args.tabs.split(",") if t.strip()] if args.tabs else None
    if tabs is not None:
        known = [name for name, _, _ in tab_specs()] + [GANLAB]
        unknown = [t for t in tabs if t not in known]
        if unknown or not tabs:
            raise UsageError(f"--tabs: unknown tab {', '.join(unknown) or '(none given)'} "
                             f"(choose from {', '.join(known)})")
    from creative_gan.threads import configure_threads

    configure_threads(inference=True)       # already done by the CLI; a no-op twice
    demo = build_app(args.models, args.concurrency, tabs)
    print(f"creative-gan: serving on http://{args.host}:{args.port} (Ctrl-C stops)", flush=True)
    try:
        demo.launch(**launch_options(args.host, args.port))
    except OSError as exc:                    # port taken, address not available …
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {str(exc).splitlines()[0]}") from None
    return 0
