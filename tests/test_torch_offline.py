"""Appendix 06's libraries load offline and quiet (``lora_course.torch_bridge.offline``); no torch needed here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, logging, os, sys, types
if {preload!r}:
    sys.modules[{preload!r}] = types.ModuleType({preload!r})
import lora_course.torch_bridge  # the package itself applies it, before any module of it can import PEFT
from lora_course.torch_bridge.offline import QUIET_LOGGERS, work_offline
first, again = work_offline(), work_offline()
levels = [logging.getLogger(n).getEffectiveLevel() for n in QUIET_LOGGERS + ("bitsandbytes.backends.cpu.ops",)]
print(json.dumps({{"first": first, "again": again, "offline": os.environ.get("HF_HUB_OFFLINE"), "levels": levels}}))
"""


def _probe(preload: str = "", env_offline: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    if env_offline is not None:
        env["HF_HUB_OFFLINE"] = env_offline
    out = subprocess.run([sys.executable, "-c", PROBE.format(preload=preload)], env=env, capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_bridge_sets_the_hub_offline_and_quiets_its_loggers():
    got = _probe()
    assert got["offline"] == "1"
    assert got["first"] == [] and got["again"] == []
    import logging
    assert all(level == logging.ERROR for level in got["levels"]), got["levels"]


def test_a_user_choice_of_hf_hub_offline_is_kept():
    assert _probe(env_offline="0")["offline"] == "0"


def test_a_hub_library_loaded_first_is_named_and_rerunning_gives_the_same_answer():
    got = _probe(preload="peft")
    assert got["first"] == ["peft"] and got["again"] == ["peft"]
