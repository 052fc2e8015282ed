"""``lora-course grade`` on a small course against broken and hostile submissions (real kernels, 1-2 min).

Every crafted submission must end with the right status and points, without stopping the batch,
changing another student's row, leaving anything behind (processes, /tmp, /dev/shm, SysV shared
memory), or changing any file in SUBMISSIONS; a second run gives the same CSV byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import nbformat
from fencing import requires_fence

from lora_course.authoring.student import student_version
from lora_course.cli.main import main
from lora_course.feedback.answers import make_key
from lora_course.grading.batch import new_workroot
from lora_course.grading.sandbox import Limits, Sandbox, run_in_sandbox

pytestmark = requires_fence

NAME = "01_toy.ipynb"
SCALE = {"grade_id": "toy-scale", "points": 3, "kind": "auto", "answer": "answer_scale"}
PARAMS = {"grade_id": "toy-params", "points": 2, "kind": "auto", "answer": "answer_params"}
SHAPE = {"grade_id": "toy-shape", "points": 1, "kind": "auto", "answer": "answer_shape"}
WHY = {"grade_id": "toy-why", "points": 2, "kind": "manual"}
HEADER = ["student", "toy-scale", "toy-params", "toy-why", "toy-shape", "total", "max", "status"]


def cell(kind: str, source: str, cid: str, meta: dict | None = None, tags: list[str] | None = None):
    c = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    c.id = cid
    if meta:
        c.metadata["lora_course"] = meta
    if tags:
        c.metadata["tags"] = tags
    return c


def toy_solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        cell("md", "# Toy lesson", "title"),
        cell("code", "import numpy as np\nfrom lora_course import check", "setup"),
        cell("code", "def lora_scale(alpha, r):\n    ### BEGIN SOLUTION\n    return alpha / r\n    ### END SOLUTION",
             "fn", tags=["student-raises"]),
        cell("code", "answer_scale = lora_scale(16, 4)\n"
             f"check(answer_scale, {make_key(4.0, 'number', 3)!r}, hint='alpha / r', name='scale')", "chk", SCALE),
        cell("code", "### BEGIN SOLUTION\nanswer_params = 4 * (16 + 8)\n### END SOLUTION\n"
             f"check(answer_params, {make_key(96, 'int')!r}, hint='r (d + k)', name='params')", "params", PARAMS),
        cell("code", "answer_params = 96  # must never run for a student", "secret", tags=["solution-only"]),
        cell("md", "Why does B start at zero?\n### BEGIN SOLUTION\nSo that B A = 0: training starts from the "
             "pre-trained model.\n### END SOLUTION", "why", WHY),
        cell("code", "### BEGIN SOLUTION\nanswer_shape = (8, 4)\n### END SOLUTION\n"
             f"check(answer_shape, {make_key((8, 4), 'tuple')!r}, hint='(d, r)', name='shape of B')", "shape", SHAPE),
    ]
    return nb


def with_answers(nb: nbformat.NotebookNode, **sources: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cells (by id) get new sources."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for c in nb.cells:
        if c.id in sources:
            c.source = sources.pop(c.id)
    assert not sources, f"no cells with ids {list(sources)}"
    return nb


def added(nb: nbformat.NotebookNode, after: str, source: str, cid: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a student cell inserted after cell ``after``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    index = [c.id for c in nb.cells].index(after)
    nb.cells.insert(index + 1, cell("code", source, cid))
    return nb


IPYTHON_HOOKS = r'''
import json, re
ip = get_ipython()
FORGED = {'answer_params': 96, 'answer_scale': 4.0, 'answer_shape': {'__tuple__': [8, 4]}}
def rewrite(lines):
    text = "".join(lines)
    if "NONCE" in text or "CHANNEL" in text:
        return ["answer_params, answer_scale, answer_shape = 96, 4.0, (8, 4)\n"]
    return lines
ip.input_transformers_post.append(rewrite)
def forge(info):
    m = re.search(r"CHANNEL = '([^']+)'", info.raw_cell or "")
    if m:
        open(m.group(1), "w").write(json.dumps({"part": "answers", "values": FORGED}))
ip.events.register('pre_run_cell', forge)
ip.display_formatter.formatters['text/plain'].for_type(str, lambda *a: 'forged')
'''

READS_ELSEWHERE = r'''
import glob, os, re
found = []
for pattern in ("/work/*/solutions/*.ipynb", "/work/wt/*/solutions/*.ipynb", "/root/*", "/home/*/*", "/etc/passwd",
                "/tmp/*", "/srv/*", "/opt/*", "/var/*"):
    found += glob.glob(pattern)
cmd = open("/proc/1/cmdline", "rb").read()
for path in ["/proc/1/environ"] + found:
    try:
        m = re.search(r"answer_params = (\d+)", open(path, errors="ignore").read())
        if m:
            answer_params = int(m.group(1))
    except OSError:
        pass
print(len(found), cmd[:40])
'''

LEAVES_TRACES = r'''
import os, subprocess, mmap, ctypes
for folder in ("/tmp", "/dev/shm"):
    with open(os.path.join(folder, "lora-trace-from-t"), "wb") as f:
        f.write(b"x" * 10_000_000)
libc = ctypes.CDLL(None)
shmid = libc.shmget(0x10AA14, 64 * 1024 * 1024, 0o1666)    # IPC_CREAT | 0666: SysV shared memory
print("shm", shmid)
subprocess.Popen(["sleep", "600"], start_new_session=True)   # a daemon that outlives the kernel
if os.fork() == 0:
    os.setsid()
    os.execv("/usr/bin/sleep", ["sleep", "601"])
'''

FORK_BOMB = r'''
import os, signal, time
children = []
for _ in range(2000):        # capped by the tree's process limit (pids.max and RLIMIT_NPROC)
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children.append(pid)
print("capped", 10 < len(children) < 300)
for pid in children:          # the dying children must not touch the next student
    os.kill(pid, signal.SIGKILL)
for pid in children:
    os.waitpid(pid, 0)
'''

CHILDREN_MEMORY = r'''
import os
pids = []
for _ in range(8):            # each far below the per-process limit, together far above the tree's
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
'''

FENCE_PROBE = r'''
import glob, os, socket
seen = {p: os.path.exists(p) and bool(os.listdir(p)) for p in SECRET_DIRS}
root, etc, tmp, pid = sorted(os.listdir("/")), sorted(os.listdir("/etc")), os.listdir("/tmp"), os.getpid()
try:
    open(os.path.join(PACKAGE, "planted.py"), "w").write("x = 1")
    wrote = True
except OSError:
    wrote = False
try:
    socket.create_connection(("1.1.1.1", 80), timeout=1)
    net = True
except OSError:
    net = False
print(json.dumps({"uid": os.getuid(), "seen": seen, "wrote": wrote, "net": net, "env": sorted(os.environ),
                  "root": root, "etc": etc, "tmp": [t for t in tmp if not t.startswith("lora-grade-")], "pid": pid}))
'''


# --- the first interpreter's probe: redirected, raced, planted or hooked (each forges full marks if it works)
FORGE = r'''
import json, re
FORGED = {"part": "answers", "values": {"answer_params": 96, "answer_scale": 4.0,
                                       "answer_shape": {"__tuple__": [8, 4]}}}
def forge(text):    # the channel of today's probe (sealed, hooks on the first line) or of the earlier one
    m = re.search(r"# CHANNEL ([^\s\\]+)|CHANNEL = \\?'([^'\\]+)", str(text))
    if m:
        try:
            with open(m.group(1) or m.group(2), "w") as f:
                f.write("[]\n" + json.dumps(FORGED) if m.group(1) else json.dumps(dict(FORGED, hooks=[])))
        except OSError:
            pass
'''
PROBE_ATTACKS = {
    # a name the probe could look up: exec, globals, __builtins__ of the notebook's namespace
    "aa_exec_global": FORGE + "def exec(source, *args, **kwargs):\n    forge(source)\n",
    "ab_globals_global": FORGE + "def globals():\n    return {'answer_params': 96, 'answer_scale': 4.0, "
                         "'answer_shape': (8, 4)}\n",
    "ac_builtins_dict": FORGE + "import builtins as _b\n__builtins__ = dict(vars(_b), exec=lambda s, *a: forge(s), "
                        "eval=lambda s, *a: forge(s), globals=lambda: {'answer_params': 96})\n",
    # the kernel's own request handling, patched: forge the channel and report success without running it
    "ad_user_expressions": FORGE + "ip = get_ipython()\n"
                           "def fake(expressions):\n    for text in expressions.values():\n        forge(text)\n"
                           "    return {k: {'status': 'ok', 'data': {'text/plain': 'None'}, 'metadata': {}} "
                           "for k in expressions}\nip.user_expressions = fake\n",
    # plant the channel first, then let the real probe run: its seal fails on O_EXCL, the planted file is not read
    "ae_channel_planted": FORGE + "ip = get_ipython()\nreal = ip.user_expressions\n"
                          "def first(expressions):\n    for text in expressions.values():\n        forge(text)\n"
                          "    return real(expressions)\nip.user_expressions = first\n",
    # answer the probe's codec before the guard does (a search function, the standard library's codec cache)
    "af_codec_hijack": FORGE + "import codecs, encodings\n"
                       "info = codecs.CodecInfo(lambda s, e='strict': (forge(s), (b'', len(s)))[1], None)\n"
                       "codecs.register(lambda name: info if name.startswith('lora_course') else None)\n"
                       "encodings._cache['lora_course_probe_run'] = info\n",
    # hooks that watch the probe run: an audit hook, a trace function hidden behind sys.gettrace, a profiler
    "ag_audit_hook": FORGE + "import sys\nsys.addaudithook(lambda event, args: forge(args[0]) "
                     "if event in ('compile', 'exec') else None)\n",
    "ah_hidden_settrace": "import sys\ndef tracer(frame, event, arg):\n    return tracer\n"
                          "sys.settrace(tracer)\nsys.gettrace = lambda: None\n",
    "ai_threading_profile": "import threading, sys\nthreading.setprofile(lambda *a: None)\n"
                            "sys.setprofile(lambda *a: None)\n",
    # the tools the probe writes with, replaced, even compiled under the library's own file name
    "aj_json_same_file": FORGE + "import json\nreal = json.dumps\n"
                         "json.dumps = eval(compile('lambda obj, *a, **k: real(FORGED) if isinstance(obj, dict) and "
                         "obj.get(\"part\") == \"answers\" else real(obj, *a, **k)', json.__file__, 'eval'))\n",
    # reach the grader's objects without a reference: the garbage collector, other threads' frames, raw memory
    "ak_gc_reach": "import gc\nfound = [o for o in gc.get_objects() if isinstance(o, dict) and 'USER_NS' in o]\n",
    "al_ctypes_memory": "import ctypes\nctypes.c_long.from_address(id(print)).value\n",
    "am_proc_mem": "import os\nos.open('/proc/%d/mem' % os.getpid(), os.O_RDONLY)\n",
}


def build(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A course with one solution notebook and a folder of crafted submissions (student -> what it tests)."""
    sol = toy_solution()
    solutions = tmp_path / "course" / "solutions"
    solutions.mkdir(parents=True)
    nbformat.write(sol, solutions / NAME)
    stub = student_version(sol, NAME)
    secret_paths = [str(solutions / NAME), str(Path(__file__).resolve().parent.parent / "solutions")]
    crafted: dict[str, nbformat.NotebookNode | bytes | None] = {
        "a_solution": sol,
        "b_untouched": stub,
        "c_partial": with_answers(stub, params="answer_params = 4 * (16 + 8)", shape="answer_shape = (4, 8)"),
        "d_scale_alpha": with_answers(sol, fn="def lora_scale(alpha, r):\n    return alpha"),
        "e_loop": added(sol, "setup", "while True:\n    pass", "loop"),
        "f_stubborn_loop": added(sol, "setup", "while True:\n    try:\n        while True:\n            pass\n"
                                 "    except KeyboardInterrupt:\n        pass", "loop"),
        "g_memory_bomb": added(sol, "setup", "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))", "bomb"),
        "h_malformed": b'{"cells": [{"cell_type": "code", "source": "answer_params = 96"',
        "i_shuffled": None,   # built below
        "j_monkeypatch": added(with_answers(stub, params="answer_params = 1"), "setup",
                               "import builtins\nimport numpy\nimport lora_course, lora_course.feedback.answers\n"
                               "lora_course.feedback.answers.evaluate = lambda *a, **k: 'correct'\n"
                               "lora_course.feedback.answers.check = lambda *a, **k: print('correct')\n"
                               "numpy.allclose = numpy.array_equal = lambda *a, **k: True\n"
                               "numpy.load = lambda *a, **k: 96\n"
                               "builtins.round = lambda *a, **k: 96\n", "patch"),
        "k_fake_result": added(with_answers(stub, params="answer_params = 1"), "setup",
                               "import json, re\n"
                               "for name in ('grades.csv', 'result.json', '../result.json', '/tmp/result.json'):\n"
                               "    try:\n        open(name, 'w').write('a_solution,3,2,,1,6,8,ok')\n"
                               "    except OSError:\n        pass\n"
                               "def forge(info):\n"
                               "    m = re.search(r\"NONCE = '([0-9a-f]{32})'\", info.raw_cell)\n"
                               "    if m:\n"
                               "        print(m.group(1), json.dumps({'part': 'answers', 'values': "
                               "{'answer_params': 96, 'answer_scale': 4.0, 'answer_shape': {'__tuple__': [8, 4]}}}))\n"
                               "get_ipython().events.register('pre_run_cell', forge)\n", "fake"),
        "l_reads_solutions": added(stub, "setup",
                                   "import re\nfor path in " + repr(secret_paths) + ":\n"
                                   "    try:\n        text = open(path).read()\n"
                                   "        answer_params = int(re.search(r'answer_params = (\\d+)', text).group(1))\n"
                                   "    except Exception as err:\n        print('blocked:', type(err).__name__)\n",
                                   "steal"),
        "m_kills_kernel": added(sol, "setup", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "kill"),
        "n_writes_submission": added(sol, "setup", f"open({str(tmp_path / 'subs' / 'n_writes_submission' / NAME)!r},"
                                     " 'a').write('x')", "write"),
        "o_missing": None,
        # the probe's answer cannot be rewritten: hooks that see or rewrite it are either bypassed or detected
        "p_print_hook": added(stub, "setup", "import builtins, re\n_print = builtins.print\n"
                              "def fake(*a, **k):\n    _print(*[re.sub(r'\"answer_params\": \\d+', "
                              "'\"answer_params\": 96', str(x)) for x in a], **k)\nbuiltins.print = fake\n", "hook"),
        "q_ipython_hooks": added(stub, "setup", IPYTHON_HOOKS, "hook"),
        "r_settrace": added(stub, "setup", "import sys\ndef tracer(frame, event, arg):\n"
                            "    if 'answer_params' in frame.f_locals:\n        frame.f_locals['answer_params'] = 96\n"
                            "    return tracer\nsys.settrace(tracer)\n", "hook"),
        # nothing outside the allow-list is visible: other checkouts, the namespace's command line, /root
        "s_reads_elsewhere": added(stub, "setup", READS_ELSEWHERE, "steal"),
        # one student cannot reach the next: processes, /tmp, /dev/shm and SysV shm all end with the notebook
        "t_leaves_traces": added(sol, "setup", LEAVES_TRACES, "traces"),
        "u_fork_bomb": added(sol, "setup", FORK_BOMB, "bomb"),
        # memory is bounded over the whole tree, not per process
        "v_children_memory": added(stub, "setup", CHILDREN_MEMORY, "bomb"),
        # small holes
        "w_launcher": sol,
        "<img src=x onerror=alert(1)>": with_answers(stub, why="<script>alert('x')</script>"),
        ".hidden_student": sol,
        "..dotdot": stub,
        "李雷": sol,
        "韩梅": stub,
        "x_deep_json": b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "y_no_cell_ids": None,     # built below
        # the probe needs no json module any more: breaking it breaks nothing the probe uses
        "z_probe_fails": added(sol, "params", "import sys\nsys.modules['json'] = None\n", "breaks"),
        # bounds: a job folder of a limited size, a notebook that sleeps, a hard link to a file not the student's
        "ba_fills_disk": added(sol, "setup", "blob = b'x' * 2 ** 24\nfor i in range(400):\n"
                               "    open(f'blob{i}', 'wb').write(blob)\n", "disk"),
        "bb_sleeps": added(sol, "setup", "import time\nfor _ in range(10 ** 6):\n    time.sleep(0.5)\n"
                           "    sum(range(10 ** 5))\n", "sleep"),
        "bc_hard_link": sol,
        **{student: added(stub, "setup", attack, "attack") for student, attack in PROBE_ATTACKS.items()},
    }
    shuffled = with_answers(stub, chk="answer_scale = 4.0  # edited check cell",
                            params="answer_params = 4 * (16 + 8)")
    shuffled.cells = list(reversed(shuffled.cells))
    shuffled.cells = [c for c in shuffled.cells if c.id != "shape"]                   # deleted answer cell
    dup = nbformat.from_dict(json.loads(json.dumps([c for c in shuffled.cells if c.id == "params"][0])))
    dup.source = "answer_params = 0"
    shuffled.cells.append(dup)                                                        # duplicated id
    crafted["i_shuffled"] = shuffled
    old = json.loads(json.dumps(sol))
    old["nbformat_minor"] = 4
    for c in old["cells"]:
        del c["id"]
    crafted["y_no_cell_ids"] = json.dumps(old).encode()
    subs = tmp_path / "subs"
    for student, content in crafted.items():
        folder = subs / student
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / NAME).write_bytes(content)
        elif student == "i_shuffled":      # raw JSON: nbformat.write would renumber the duplicated id
            (folder / NAME).write_text(json.dumps(content))
        elif content is not None:
            nbformat.write(content, folder / NAME)
    (subs / "a_solution" / "data.txt").write_text("helper data")
    (subs / "w_launcher" / "ipykernel_launcher.py").write_text("raise SystemExit('the student launcher ran')\n")
    (subs / "zz_link").symlink_to(subs / "a_solution")
    outside = tmp_path / "not_the_students.txt"          # a file the student's uid could not read
    outside.write_text("answer_params = 96")
    outside.chmod(0o600)
    os.link(outside, subs / "bc_hard_link" / "stolen.txt")
    return solutions, subs, {s: "" for s in crafted}


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def grade(solutions: Path, subs: Path, out: Path, *extra: str) -> dict[str, list[str]]:
    code = main(["grade", str(subs), "--out", str(out), "--solutions", str(solutions), "--timeout", "3",
                 "--uid-base", str(UID_BASE),
                 "--notebook-timeout", "9", "--memory-mb", "1536", *extra])
    assert code == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == HEADER
    return {row[0]: row[1:] for row in rows[1:]}


# this run's batches run as UID_BASE + the student's index; drawn per run, so two runs on one machine never share uids
UID_BASE = 1_900_000_000 + 1000 * secrets.randbelow(100_000)


def leftovers() -> dict[str, list]:
    """What a kernel could leave behind on the host: processes of the kernels' uids, files, SysV shm."""
    procs = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            uid, state = int(fields["Uid"].split()[0]), fields["State"].split()[0]
        except (OSError, KeyError, ValueError, IndexError):
            continue
        if UID_BASE <= uid < UID_BASE + 1000 and state not in ("Z", "X"):   # a zombie is dead, only not reaped
            procs.append((status.parent.name, uid, state))
    files = [p for p in ("/tmp/lora-trace-from-t", "/dev/shm/lora-trace-from-t") if os.path.lexists(p)]
    shm = [line for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
           if line.split()[0] == str(0x10AA14)]
    return {"processes": procs, "files": files, "sysv_shm": shm}


EXPECTED = {   # student -> (scores of toy-scale, toy-params, toy-why, toy-shape; status; a word of its reason)
    "a_solution": (["3", "2", "", "1"], "ok", ""),
    "b_untouched": (["0", "0", "", "0"], "ok", ""),
    "c_partial": (["0", "2", "", "0"], "ok", ""),
    "d_scale_alpha": (["0", "2", "", "1"], "ok", ""),
    "e_loop": (["3", "2", "", "1"], "timeout", "interrupted"),
    "f_stubborn_loop": (["0", "0", "", "0"], "timeout", "ignored an interrupt"),
    "g_memory_bomb": (["3", "2", "", "1"], "error", "memory limit"),
    "h_malformed": (["0", "0", "", "0"], "malformed", "not valid JSON"),
    "i_shuffled": (["0", "2", "", "0"], "ok", ""),
    "j_monkeypatch": (["0", "0", "", "0"], "ok", ""),
    "k_fake_result": (["0", "0", "", "0"], "ok", ""),
    "l_reads_solutions": (["0", "0", "", "0"], "ok", ""),
    "m_kills_kernel": (["0", "0", "", "0"], "error", "died"),
    "n_writes_submission": (["3", "2", "", "1"], "ok", ""),
    "o_missing": (["0", "0", "", "0"], "missing", "not submitted"),
    "p_print_hook": (["0", "0", "", "0"], "error", "tampering"),
    "q_ipython_hooks": (["0", "0", "", "0"], "ok", ""),
    "r_settrace": (["0", "0", "", "0"], "error", "tampering"),
    "s_reads_elsewhere": (["0", "0", "", "0"], "ok", ""),
    "t_leaves_traces": (["3", "2", "", "1"], "ok", ""),
    "u_fork_bomb": (["3", "2", "", "1"], "ok", ""),
    "v_children_memory": (["0", "0", "", "0"], "error", "memory limit"),
    "w_launcher": (["3", "2", "", "1"], "ok", ""),
    "<img src=x onerror=alert(1)>": (["0", "0", "", "0"], "ok", ""),
    ".hidden_student": (["3", "2", "", "1"], "ok", ""),
    "..dotdot": (["0", "0", "", "0"], "ok", ""),
    "李雷": (["3", "2", "", "1"], "ok", ""),
    "韩梅": (["0", "0", "", "0"], "ok", ""),
    "x_deep_json": (["0", "0", "", "0"], "malformed", "nested too deeply"),
    "y_no_cell_ids": (["0", "0", "", "0"], "malformed", "without cell ids"),
    "z_probe_fails": (["3", "2", "", "1"], "ok", ""),
    "ba_fills_disk": (["0", "0", "", "0"], "error", "disk"),
    "bb_sleeps": (["3", "2", "", "1"], "timeout", "interrupted"),
    "bc_hard_link": (["3", "2", "", "1"], "ok", ""),
    "aa_exec_global": (["0", "0", "", "0"], "ok", ""),
    "ab_globals_global": (["0", "0", "", "0"], "ok", ""),
    "ac_builtins_dict": (["0", "0", "", "0"], "ok", ""),
    "ad_user_expressions": (["0", "0", "", "0"], "error", "not written by the grader's probe"),
    "ae_channel_planted": (["0", "0", "", "0"], "error", "not written by the grader's probe"),
    "af_codec_hijack": (["0", "0", "", "0"], "ok", ""),
    "ag_audit_hook": (["0", "0", "", "0"], "error", "tampering"),
    "ah_hidden_settrace": (["0", "0", "", "0"], "error", "tampering"),
    "ai_threading_profile": (["0", "0", "", "0"], "error", "tampering"),
    "aj_json_same_file": (["0", "0", "", "0"], "error", "tampering: student code hooked the tools"),
    "ak_gc_reach": (["0", "0", "", "0"], "error", "tampering"),
    "al_ctypes_memory": (["0", "0", "", "0"], "error", "tampering"),
    "am_proc_mem": (["0", "0", "", "0"], "error", "tampering"),
}


RERUN = ("e_loop", "f_stubborn_loop", "g_memory_bomb", "m_kills_kernel", "u_fork_bomb", "v_children_memory",
         "ae_channel_planted", "ba_fills_disk", "bb_sleeps")


def test_hostile_batch(tmp_path, capsys):
    solutions, subs, _ = build(tmp_path)
    before, traces = digest(subs), leftovers()
    rows = grade(solutions, subs, tmp_path / "grades.csv", "--jobs", "2", "--feedback", str(tmp_path / "fb"))
    assert digest(subs) == before, "grading must not change any file in SUBMISSIONS"
    err = capsys.readouterr().err
    assert "grading" in err, "a progress bar is shown"
    assert "'zz_link' is a symlink: skipped" in err, "a folder without a row gets a warning"
    assert leftovers() == traces, "nothing of any student survives the batch"

    table = {student: (row[:4], row[-1]) for student, row in rows.items()}
    wrong = {}
    for student, (scores, status, reason) in EXPECTED.items():
        row = rows.pop(student)
        if (row[:-1] != [*scores, str(sum(int(s) for s in scores if s)), "8"] or row[-1].split(":")[0] != status
                or reason not in row[-1]):
            wrong[student] = row
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=0)
    assert not rows, f"unexpected rows: {rows}"
    print(json.dumps(table, ensure_ascii=False, indent=0))

    fb = tmp_path / "fb"
    feedback = (fb / "b_untouched.md").read_text()
    assert "| toy-params | 0 / 2 | not answered |" in feedback and "r (d + k)" in feedback
    assert "> *Your answer here.*" in feedback and "> So that B A = 0" in feedback
    assert "> So that B A = 0" in (fb / "a_solution.md").read_text()
    assert "stolen.txt: a hard link" in (fb / "bc_hard_link.md").read_text(), "a refused file is named"
    names = sorted(p.name for p in fb.glob("*.md"))
    assert len(names) == len(EXPECTED) - 0 and len(set(names)) == len(names), names
    html = next(p for p in fb.glob("_img*.md")).read_text()
    assert "<img" not in html and "<script>" not in html and "&lt;script&gt;" in html and "&lt;img" in html

    # a second run gives the same CSV, byte for byte: the whole CSV of a batch of the students whose outcome
    # depends on limits and timing (the others' is plain data), against those lines of the first CSV
    again = tmp_path / "subs_again"
    again.mkdir()
    for student in RERUN:
        shutil.copytree(subs / student, again / student)
    grade(solutions, again, tmp_path / "again.csv", "--jobs", "2", "--no-progress")
    first = (tmp_path / "grades.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    expected = "".join([first[0], *(line for line in first[1:] if line.split(",")[0] in RERUN)])
    assert (tmp_path / "again.csv").read_bytes() == expected.encode("utf-8")
    assert leftovers() == traces


def test_the_course_comes_from_the_package_never_from_the_working_folder(tmp_path, monkeypatch):
    from lora_course.cli.grade import package_solutions

    planted = tmp_path / "world_writable"
    (planted / "solutions").mkdir(parents=True)
    (planted / "pyproject.toml").write_text("[project]\nname = 'lora-course'\n")
    (planted / "below").mkdir()
    monkeypatch.chdir(planted / "below")
    assert package_solutions() == Path(__file__).resolve().parent.parent / "solutions"


def test_a_probe_is_bounded_by_the_same_limits(tmp_path):
    workroot = new_workroot()
    limits = Limits(cell_seconds=2, notebook_seconds=6, wall_factor=3)
    try:
        run = run_in_sandbox(["x = 1"], [("n" * 32, "# CHANNEL /nowhere\nwhile True: pass")], workroot / "job", None,
                             Sandbox(limits=limits, uid=UID_BASE + 900))
    finally:
        shutil.rmtree(workroot)
    assert run.timed_out_probes == [0] or run.notebook_timeout
    assert run.cpu_seconds < 6 + 4, f"the probe ran {run.cpu_seconds:.1f} CPU s past a 6 s notebook"


def test_the_kernel_is_fenced(tmp_path):
    course = Path(__file__).resolve().parent.parent
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    sandbox = Sandbox(limits=Limits(cell_seconds=10, notebook_seconds=30), uid=UID_BASE + 901)
    import lora_course
    probe = FENCE_PROBE.replace("SECRET_DIRS", repr([str(secret), str(course / "solutions"), str(course / ".git"),
                                                     "/work", "/root", "/home", "/etc", "/opt", "/var"]))
    probe = "import json\n" + probe.replace("PACKAGE", repr(str(Path(lora_course.__file__).parent)))
    workroot = new_workroot()
    try:
        run = run_in_sandbox(["x = 1", probe], [], workroot / "job", None, sandbox)
    finally:
        shutil.rmtree(workroot)
    assert not run.died, run.died
    text = "".join(o.get("text", "") for o in run.outputs[1])
    facts = json.loads(text.strip().splitlines()[-1])
    assert facts["uid"] == UID_BASE + 901, "the kernel runs as the student's own unprivileged uid"
    # what the kernel may see: the system's own folders, plus the top folders holding the interpreter, the venv
    # and the package (wherever this checkout lives: /work, /tmp, /root, ...); nothing else
    tops = {Path(p).resolve().parts[1] for p in (sys.prefix, sys.base_prefix, Path(lora_course.__file__).parent)}
    assert facts["root"] == sorted({"bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "tmp", "usr"} | tops)
    assert facts["seen"] == {str(secret): False, str(course / "solutions"): False, str(course / ".git"): False,
                             "/work": "work" in tops, "/root": bool(facts["seen"]["/root"]) and "root" in tops,
                             "/home": "home" in tops, "/etc": True, "/opt": "opt" in tops, "/var": "var" in tops,
                             }, facts["seen"]
    assert facts["etc"] == ["ld.so.cache"], "of /etc only the loader's cache is there"
    # a private /tmp: empty but for the mount points of allowed folders that live under /tmp (a checkout in /tmp/ci)
    under_tmp = {Path(p).resolve().parts[2] for p in (sys.prefix, sys.base_prefix, Path(lora_course.__file__).parent)
                 if Path(p).resolve().parts[1] == "tmp"}
    assert facts["pid"] < 10 and set(facts["tmp"]) <= under_tmp, "own PID namespace, empty private /tmp"
    assert not facts["wrote"], "the package cannot be modified from the kernel"
    assert not (Path(lora_course.__file__).parent / "planted.py").exists()
    assert not facts["net"], "no network"
    assert not [k for k in facts["env"] if "TOKEN" in k or "KEY" in k or k.startswith(("GIT", "SSH", "AWS"))
                and k != "GIT_PAGER"], facts["env"]
