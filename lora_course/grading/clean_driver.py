# lora-course clean interpreter
"""The program of the clean grading interpreter (run as ``python -I -c <this source>`` inside the sandbox).

It imports nothing of ``lora_course``: the grader hands it, on stdin, one JSON request with the student's view of
the package (module sources), the lesson's setup, the student's answer cells, the checks' collect source and each
check's inputs. It runs the setup, then the answer cells (statement by statement, so one failing line does not
hide the definitions after it), then each check's ``collect`` on the grader's inputs, and writes one JSON line per
step to the channel (the stdout pipe the grader opened; ``print`` goes to the log instead). Its audit hook records
what the reference rule and the tampering rule need: refused package imports, reads of the package's files, code
rebuilt from ``marshal`` or ``types.CodeType``, trace/profile/audit hooks, ``ctypes``, and text compiled at run time;
it refuses ``ctypes`` and starting another program while the student's code runs.
"""

import ast
import base64
import builtins
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import sys

_write = os.write
NOT_AVAILABLE = "the package's reference is not available while grading; write your own"
MAX_ELEMENTS = 2_000_000
STATE = {"phase": "driver", "names": [], "check": None, "cell": None, "seq": 0}
ATTEMPTS, HOOKS, COMPILED = [], [], []
CHAN, MODULES, PACKAGES, DROPPED = -1, {}, set(), {}
np = None
LAST_OPEN = [""]
TRUSTED = tuple({os.path.realpath(p) + "/" for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} |
                {p + "/" for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | {"/usr/"})


def student_names(frames):
    """The top-level name whose code made an attempt: the innermost frame of an answer cell (a function's or a
    method's qualified name gives it), or, for a cell's own statement, the names that statement binds."""
    for code in frames:
        if code.co_filename.startswith("<answer cell"):
            return list(STATE["names"]) if code.co_name == "<module>" else [code.co_qualname.split(".")[0]]
    return list(STATE["names"])


def stack():
    frame, out = sys._getframe(1), []
    while frame is not None:
        out.append(frame.f_code)
        frame = frame.f_back
    return out


def attempt(kind, target, names=None):
    if STATE["phase"] in ("cells", "collect") and len(ATTEMPTS) < 100:
        names = student_names(stack()) if names is None else names
        entry = {"kind": kind, "target": str(target)[:300], "names": names, "check": STATE["check"],
                 "cell": STATE["cell"]}
        if entry not in ATTEMPTS:
            ATTEMPTS.append(entry)


# starting another program: refused while the student's code runs (a program started here is an interpreter without
# this one's finder and hook; where no sandbox hides the package's files, it could import the reference)
NO_PROGRAM = ("os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",
              "pty.spawn", "os.startfile")


def audit(event, args):
    if STATE["phase"] not in ("cells", "collect"):
        return
    if event in NO_PROGRAM:
        raise PermissionError(f"{event}: starting another program is not available while grading")
    if event in ("sys.settrace", "sys.setprofile", "sys.addaudithook") or event.startswith("ctypes."):
        if event not in HOOKS and len(HOOKS) < 20:
            HOOKS.append(event)
        if event.startswith("ctypes."):         # recorded (tampering), then refused: no native call gets through
            raise PermissionError(f"{event}: ctypes is not available while grading")
    elif event in ("marshal.loads", "marshal.load"):
        importing = any(c.co_filename.startswith("<frozen importlib") for c in stack()[:4])
        if not (importing and LAST_OPEN[0].startswith(TRUSTED)):       # a .pyc of Python or the environment
            attempt("rebuild", "code loaded with marshal")
    elif event == "code.__new__":
        attempt("rebuild", "a code object built at run time (types.CodeType)")
    elif event == "open" and args and isinstance(args[0], (str, bytes)):
        path = LAST_OPEN[0] = os.fsdecode(args[0])
        if "lora_course" in path and path.endswith((".py", ".pyc", ".pyi")):
            attempt("read", path)
    elif event == "compile" and args and isinstance(args[0], (str, bytes)) and len(args[0]) >= 80:
        text = os.fsdecode(args[0]) if isinstance(args[0], bytes) else args[0]
        if len(COMPILED) >= 200 or sum(len(c["text"]) for c in COMPILED) + len(text) > 8_000_000:
            attempt("rebuild", "more code compiled at run time than the grader reads")
        else:
            COMPILED.append({"text": text, "names": student_names(stack())})


def denied(module, name=""):
    target = f"{module}.{name}" if name else module
    if not name.startswith("__"):
        attempt("import", target)


class ViewFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the student's view of ``lora_course`` from memory; every other module of the package is refused."""

    def find_spec(self, name, path=None, target=None):
        if name != "lora_course" and not name.startswith("lora_course."):
            return None
        if name in MODULES:
            return importlib.machinery.ModuleSpec(name, self, origin=f"<student view of {name}>",
                                                  is_package=name in PACKAGES)
        denied(name)
        raise ModuleNotFoundError(f"No module named {name!r}: {NOT_AVAILABLE}", name=name)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        module.__dict__["_lora_view_denied"] = denied
        if name in PACKAGES:
            module.__path__ = []

            def __getattr__(attr, _pkg=name):
                full = f"{_pkg}.{attr}"
                if full in MODULES:
                    return importlib.import_module(full)
                denied(_pkg, attr)
                raise AttributeError(f"module {_pkg!r} has no attribute {attr!r}: {NOT_AVAILABLE}")

            module.__dict__["__getattr__"] = __getattr__
        exec(compile(MODULES[name], module.__spec__.origin, "exec"), module.__dict__)


def frame(event, **fields):
    STATE["seq"] += 1
    data = (json.dumps({"seq": STATE["seq"], "event": event, **fields}) + "\n").encode()
    while data:
        data = data[_write(CHAN, data):]


def encode(value, depth=0):
    kind = type(value)
    if value is None or kind in (bool, str):
        return value if kind is not str else value[:10000]
    if kind is int:
        return value if abs(value) < 2 ** 63 else float(value)
    if kind is float:
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return encode(value.item(), depth)
    if kind in (tuple, list) and depth == 0 and len(value) <= 1000:
        return {"__tuple__": [encode(v, 1) for v in value]}
    if kind is np.ndarray and value.dtype.kind in "biuf" and value.size <= MAX_ELEMENTS:
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    return {"__unsupported__": kind.__name__[:100]}


def decode(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
    return value


def describe(err):
    if isinstance(err, NameError) and getattr(err, "name", None) in DROPPED:
        frames, tb = [], err.__traceback__
        while tb is not None:
            frames.insert(0, tb.tb_frame.f_code)
            tb = tb.tb_next
        attempt("name", DROPPED[err.name], student_names(frames))
    return f"{type(err).__name__}: {str(err)[:300]}"


def bound(stmt):
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    return sorted({n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})


def strip_magics(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def start() -> dict:
    """Take the channel (fd 1) and the request (stdin), install the audit hook and the view's finder."""
    global CHAN, MODULES, PACKAGES, DROPPED, np
    CHAN = os.dup(1)
    os.dup2(2, 1)                               # print() and stray writes to fd 1 go to the log, not the channel
    request = json.loads(sys.stdin.buffer.readline())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    MODULES, PACKAGES, DROPPED = request["modules"], set(request["packages"]), request["dropped"]
    sys.addaudithook(audit)
    sys.meta_path.insert(0, ViewFinder())
    for name in [n for n in sys.modules if n == "lora_course" or n.startswith("lora_course.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    import numpy  # after the finder: nothing of the package can come in with it
    np = numpy
    return request


def main() -> None:
    request = start()
    collectors = {}
    exec(compile(request["collect"], "<grader: collect>", "exec"), collectors)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for stmt in ast.parse(request["setup"]).body:     # the solution's imports and constants, one by one
        try:
            exec(compile(ast.Module([stmt], []), "<lesson setup>", "exec"), namespace)
        except Exception:  # noqa: BLE001, S110 - a setup name that cannot exist here is simply absent
            pass
    compiled = []
    for cell_id, source in request["cells"]:
        try:
            tree = ast.parse(strip_magics(source))
            compiled.append([(compile(ast.Module([s], []), f"<answer cell {cell_id}>", "exec"), bound(s))
                             for s in tree.body])
        except (SyntaxError, ValueError) as err:
            compiled.append(f"SyntaxError: {err}")
    frame("ready")
    STATE["phase"] = "cells"
    for index, statements in enumerate(compiled):
        STATE["cell"] = request["cells"][index][0]
        errors = [statements] if isinstance(statements, str) else []
        for code, names in statements if not errors else ():
            STATE["names"] = names
            before, seen, texts = {k: id(v) for k, v in namespace.items()}, len(ATTEMPTS), len(COMPILED)
            try:
                exec(code, namespace)
            except KeyboardInterrupt:
                errors.append("timeout")
                break
            except BaseException as err:  # noqa: BLE001 - the student's statement failed; the next one still runs
                errors.append(describe(err))
            finally:                          # an attempt by a statement that binds nothing (exec(...)) belongs
                changed = sorted(k for k, v in namespace.items() if before.get(k) != id(v))   # to what it bound
                for entry in ATTEMPTS[seen:] + COMPILED[texts:]:
                    entry["names"] = entry["names"] or changed
        STATE["names"], STATE["cell"] = [], None
        frame("cell", index=index, errors=errors[:5])
    for check in request["checks"]:
        name = check["name"]
        inputs = {key: decode(value) for key, value in check["inputs"].items()}
        STATE["phase"], STATE["check"] = "collect", name
        try:
            data = collectors["__collect__"][name](namespace, inputs)
            payload = {"part": "project", "check": name, "data": {str(k): encode(v) for k, v in dict(data).items()}}
        except NotImplementedError as err:
            payload = {"part": "project", "check": name, "error": f"not implemented yet ({str(err)[:300]})"}
        except KeyboardInterrupt:
            payload = {"part": "project", "check": name, "error": "timeout"}
        except BaseException as err:  # noqa: BLE001 - whatever the student's code raised fails this check only
            payload = {"part": "project", "check": name, "error": f"your code raised {describe(err)}"}
        STATE["phase"], STATE["check"] = "driver", None
        frame("check", name=name, payload=payload)
    frame("end", attempts=ATTEMPTS, hooks=HOOKS, compiled=COMPILED)


if __name__ == "__main__":
    main()
