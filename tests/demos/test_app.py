"""The app's assembly without a browser: tab discovery through the registry, model lookup, options, CLI errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from creative_gan import registry
from creative_gan.demos import app
from creative_gan.demos.common import (EXAMPLES_DIR, MAX_FILE_BYTES, heavy_event, heavy_limit, light_event,
                                      training_event)
from creative_gan.errors import UsageError
from creative_gan.plugin import PipelinePlugin


def test_registered_pipelines_with_builders_get_tabs():
    found = app.tab_specs()
    specs = {name: (target, model) for name, target, model in found}
    assert [name for name, _, _ in found][:1] == ["audio"]             # the flagship tab opens first
    assert specs["audio"] == ("creative_gan.demos.audio:build_audio_demo", "audio-default")
    assert specs["digits"] == ("creative_gan.demos.digits:build_digits_demo", "digits-default")


class ThirdParty(PipelinePlugin):
    name = "thirdparty"
    demo_builder = "tests.demos.test_app:build_thirdparty_demo"
    default_model = "digits-default"


BUILT = []


def build_thirdparty_demo(model):
    import gradio as gr

    BUILT.append(model)
    gr.Markdown("third-party tab", elem_id="thirdparty-tab")


class Broken(PipelinePlugin):
    name = "broken"
    demo_builder = "tests.demos.test_app:build_thirdparty_demo"
    default_model = "no-such-model"


def test_a_third_party_plugin_adds_a_tab_and_a_bad_model_costs_only_its_tab(monkeypatch):
    plugins = {"thirdparty": ThirdParty(), "broken": Broken()}
    monkeypatch.setattr(registry, "pipeline_names", lambda: sorted(plugins))
    real_get_plugin = registry.get_plugin
    monkeypatch.setattr(registry, "get_plugin", lambda name: plugins.get(name) or real_get_plugin(name))
    BUILT.clear()
    demo = app.build_app(tabs=["thirdparty", "broken"])
    config = demo.get_config_file()
    texts = [c.get("props", {}).get("value") for c in config["components"]]
    assert "third-party tab" in texts
    assert any(isinstance(t, str) and "This tab is unavailable" in t and "no-such-model" in t for t in texts)
    assert len(BUILT) == 1 and BUILT[0].pipeline_name == "digits"


def test_models_dir_overrides_the_shipped_model(tmp_path):
    assert app.model_location("digits", "digits-default", None) == "digits-default"
    assert app.model_location("digits", "digits-default", str(tmp_path)) == "digits-default"
    (tmp_path / "digits").mkdir()
    assert app.model_location("digits", "digits-default", str(tmp_path)) == str(tmp_path / "digits")
    (tmp_path / "digits-default").mkdir()
    assert app.model_location("digits", "digits-default", str(tmp_path)) == str(tmp_path / "digits-default")
    with pytest.raises(UsageError, match="no default model"):
        app.model_location("x", None, None)


def test_launch_options_keep_the_app_offline_and_narrow():
    options = app.launch_options("127.0.0.1", 7861)
    assert options["share"] is False and options["server_name"] == "127.0.0.1"
    assert options["allowed_paths"] == [str(EXAMPLES_DIR)]
    assert options["max_file_size"] and MAX_FILE_BYTES == 5 * 1024 * 1024
    assert options["mcp_server"] is False and options["footer_links"] == []


def test_heavy_and_light_events_use_separate_pools():
    with heavy_limit(3):
        assert heavy_event() == {"concurrency_id": "heavy", "concurrency_limit": 3}
        assert training_event() == {"concurrency_id": "training", "concurrency_limit": 3}
    assert heavy_event()["concurrency_limit"] == 1
    assert len({heavy_event()["concurrency_id"], training_event()["concurrency_id"],
                light_event()["concurrency_id"]}) == 3


@pytest.mark.parametrize("argv,message", [(["--concurrency", "0"], "--concurrency"),
                                          (["--models", "/no/such/folder"], "not a folder"),
                                          (["--port", "70000"], "--port"), (["--port", "0"], "--port"),
                                          (["--port", "abc"], "invalid int value"),
                                          (["--tabs", "nosuch"], "unknown tab nosuch"),
                                          (["--tabs", ","], "none given")])
def test_bad_arguments_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message):
        app.main(argv)


def test_cli_demo_verb_reports_one_error_line():
    result = subprocess.run([sys.executable, "-m", "creative_gan", "demo", "--concurrency", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["creative-gan: error: --concurrency must be at least 1 (got 0)"]


def test_python_m_creative_gan_demo_serves_the_page(tmp_path):
    import json
    import os
    import time
    import urllib.request

    from .conftest import free_port

    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    command = [sys.executable, "-m", "creative_gan", "demo", "--port", str(port), "--tabs", "ganlab"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline, page = time.time() + 120, ""
        while time.time() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
                    page = response.read().decode("utf-8", "replace")
                break
            except OSError:
                time.sleep(0.5)
        assert json.loads(page)["title"] == "creative_gan", process.poll()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_taken_port_is_a_usage_error():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot serve on 127.0.0.1:{port}"):
            app.main(["--port", str(port), "--tabs", "ganlab"])
