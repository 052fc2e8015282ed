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
import signal
import sys

_write, _exit_now = os.write, os._exit
NOT_AVAILABLE = "the package's reference is not available while grading; write your own"
MAX_ELEMENTS = 2_000_000
CHAN, MODULES, PACKAGES, DROPPED = -1, {}, set(), {}
np = None
RECORD = [lambda kind, fields: None]      # the recorder's writer, once installed (the view's finder reports to it)
TRUSTED = tuple({os.path.realpath(p) + "/" for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} |
                {p + "/" for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} | {"/usr/"})
# starting another program: refused while the student's code runs (a program started here is an interpreter without
# this one's finder and hook; where no sandbox hides the package's files, it could import the reference)
NO_PROGRAM = ("os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen",
              "pty.spawn", "os.startfile")
HOOK_EVENTS = ("sys.settrace", "sys.setprofile", "sys.addaudithook", "gc.get_objects", "gc.get_referrers",
               "gc.get_referents", "sys._current_frames")


def recorder(chan, counter):
    """The audit hook and its writer. Each record leaves on the channel the moment it is made, as one JSON line
    (``{"seq", "event": "record", "kind", ...}``), before the student's code gets control back; so nothing the
    student does later (clearing a list, changing a module's function) unsays it. Everything the hook uses is
    bound here, once: the builtins and the functions of ``os``, ``sys`` and ``str`` it calls, the escaping of its
    own JSON (no ``json`` module), the channel's identity (a descriptor swapped under it ends the interpreter)."""
    write, fstat, exit_, getframe, fsdecode = os.write, os.fstat, os._exit, sys._getframe, os.fsdecode
    mask, block, unblock, sigint = signal.pthread_sigmask, signal.SIG_BLOCK, signal.SIG_SETMASK, {signal.SIGINT}
    str_, bytes_, type_, len_, int_ = str, bytes, type, len, int
    translate, startswith, endswith, encode, join = str.translate, str.startswith, str.endswith, str.encode, str.join
    first = fstat(chan)
    ident = (first.st_dev, first.st_ino)
    escape = {i: f"\\u{i:04x}" for i in range(32)}
    escape.update({34: '\\"', 92: "\\\\"})
    trusted, hook_events, last_open, seen, hash_ = TRUSTED, HOOK_EVENTS, [""], set(), hash
    no_program, refused = NO_PROGRAM, PermissionError

    def text(value):
        return '"' + translate(value, escape) + '"'

    def put(kind, fields):
        st = fstat(chan)
        if (st.st_dev, st.st_ino) != ident:
            exit_(86)
        if type_(counter[0]) is not int_:
            exit_(86)
        counter[0] += 1
        parts = [f'"seq": {counter[0]}', '"event": "record"', '"kind": ' + text(kind)]
        for key, value in fields.items():
            parts.append(text(key) + ": " + (text(value) if type_(value) is str_ else
                                             "[" + join(", ", [text(v) for v in value]) + "]"))
        data = encode("{" + join(", ", parts) + "}\n", "utf-8", "replace")
        old = mask(block, sigint)                 # a line is never cut by the grader's interrupt
        try:
            while data:
                data = data[write(chan, data):]
        finally:
            mask(unblock, old)

    def importing():
        frame, depth = getframe(2), 0
        while frame is not None and depth < 4:
            if startswith(frame.f_code.co_filename, "<frozen importlib"):
                return True
            frame, depth = frame.f_back, depth + 1
        return False

    def hook(event, args):
        if event in no_program:
            raise refused(f"{event}: starting another program is not available while grading")
        if event in hook_events or startswith(event, "ctypes."):
            put("hook", {"target": event})
            if startswith(event, "ctypes."):      # recorded (tampering), then refused: no native call gets through
                raise refused(f"{event}: ctypes is not available while grading")
        elif event == "marshal.loads" or event == "marshal.load":
            if not (importing() and startswith(last_open[0], trusted)):        # a .pyc of Python or the environment
                put("rebuild", {"target": "code loaded with marshal"})
        elif event == "code.__new__":
            put("rebuild", {"target": "a code object built at run time (types.CodeType)"})
        elif event == "open" and args and type_(args[0]) in (str_, bytes_):
            path = last_open[0] = fsdecode(args[0])
            if "lora_course" in path and endswith(path, (".py", ".pyc", ".pyi")):
                put("read", {"target": path[:300]})
        elif event == "compile" and args:
            source = args[0]
            if type_(source) is bytes_:
                source = source.decode("utf-8", "replace")
            if type_(source) is not str_:
                put("rebuild", {"target": "code compiled from a syntax tree or an object that is not text"})
            elif len_(source) >= 80 and hash_(source) not in seen:      # each text once (numpy's headers...)
                seen.add(hash_(source))
                put("compiled", {"text": source[:2_000_000]})

    return hook, put


def denied(module, name=""):
    target = f"{module}.{name}" if name else module
    if not name.startswith("__"):
        RECORD[0]("import", {"target": target[:300]})


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


def writer(chan, counter):
    """The driver's own lines (ready, cell, check, end), numbered in one sequence with the recorder's."""
    dumps, write, mask = json.dumps, os.write, signal.pthread_sigmask

    def frame(event, **fields):
        counter[0] += 1
        data = (dumps({"seq": counter[0], "event": event, **fields}) + "\n").encode()
        old = mask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            while data:
                data = data[write(chan, data):]
        finally:
            mask(signal.SIG_SETMASK, old)
    return frame


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
        RECORD[0]("name", {"target": DROPPED[err.name][:300]})
    return f"{type(err).__name__}: {str(err)[:300]}"


def bound(stmt):
    """The names a top-level statement binds: assigned names, import aliases, functions and classes, also inside a
    compound statement (``try: from x import y as z``), so what it reached for is told by what it defined."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (stmt.name,)
    names = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return tuple(sorted(names))


def display(*objs, **kwargs):
    """IPython's ``display`` (a builtin in the kernel), so an honest answer that calls it runs here too: to the log."""
    print(*(repr(o)[:200] for o in objs))


class IPythonStub:
    """What ``get_ipython()`` gives the answer cells here (the grader turned IPython's syntax into calls, as the
    kernel does): ``%time`` runs its statement, other magics, shell escapes and help do nothing."""

    def __init__(self, namespace, cell):
        self.namespace, self.cell = namespace, cell

    def run_line_magic(self, name, line, *args):
        if name == "time":
            exec(compile(line, f"<answer cell {self.cell[0]}>", "exec"), self.namespace)

    def run_cell_magic(self, name, line, cell, *args):
        return None

    def getoutput(self, *args, **kwargs):
        return []

    def system(self, *args, **kwargs):
        return 0


def start() -> dict:
    """Take the channel (fd 1) and the request (stdin), install the view's finder."""
    global CHAN, MODULES, PACKAGES, DROPPED, np
    CHAN = os.dup(1)
    os.dup2(2, 1)                               # print() and stray writes to fd 1 go to the log, not the channel
    request = json.loads(sys.stdin.buffer.readline())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    MODULES, PACKAGES, DROPPED = request["modules"], set(request["packages"]), request["dropped"]
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
    cell = [""]
    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": display}
    namespace["get_ipython"] = (lambda stub: lambda: stub)(IPythonStub(namespace, cell))
    for stmt in ast.parse(request["setup"]).body:     # the solution's imports and constants, one by one
        try:
            exec(compile(ast.Module([stmt], []), "<lesson setup>", "exec"), namespace)
        except Exception:  # noqa: BLE001, S110 - a setup name that cannot exist here is simply absent
            pass
    compiled = []
    for cell_id, source in request["cells"]:
        try:
            tree = ast.parse(source)
            compiled.append(tuple((compile(ast.Module([s], []), f"<answer cell {cell_id}>", "exec"), bound(s))
                                  for s in tree.body))
        except (SyntaxError, ValueError) as err:
            compiled.append(f"SyntaxError: {err}")
    compiled = tuple(compiled)
    given = [(check["name"], {key: decode(value) for key, value in check["inputs"].items()})
             for check in request["checks"]]                  # read before the hook: numpy parses its headers
    counter = [0]
    frame = writer(CHAN, counter)
    RECORD[0] = recorder(CHAN, counter)[1]      # the finder's writer: a closure of its own, not the hook's
    frame("ready")
    sys.addaudithook(recorder(CHAN, counter)[0])   # held by no frame or name: from here on a record leaves as made
    for index, statements in enumerate(compiled):
        cell[0] = request["cells"][index][0]
        errors = [statements] if isinstance(statements, str) else []
        for code, names in statements if not errors else ():
            before, seen = {k: id(v) for k, v in namespace.items()}, counter[0]
            try:
                exec(code, namespace)
            except KeyboardInterrupt:
                errors.append("timeout")
                break
            except BaseException as err:  # noqa: BLE001 - the student's statement failed; the next one still runs
                errors.append(describe(err))
            finally:        # what the statement bound and changed: whose the records it made are (see clean_run)
                if counter[0] != seen:
                    changed = {k for k, v in namespace.items() if before.get(k) != id(v)}
                    frame("names", names=sorted(changed | set(names))[:200])
        frame("cell", index=index, errors=errors[:5])
    for name, arrays in given:
        inputs = {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in arrays.items()}
        try:
            data = collectors["__collect__"][name](namespace, inputs)
            payload = {"part": "project", "check": name, "data": {str(k): encode(v) for k, v in dict(data).items()}}
        except NotImplementedError as err:
            payload = {"part": "project", "check": name, "error": f"not implemented yet ({str(err)[:300]})"}
        except KeyboardInterrupt:
            payload = {"part": "project", "check": name, "error": "timeout"}
        except BaseException as err:  # noqa: BLE001 - whatever the student's code raised fails this check only
            payload = {"part": "project", "check": name, "error": f"your code raised {describe(err)}"}
        frame("check", name=name, payload=payload)
    frame("end")
    try:
        sys.stdout.flush()
    finally:
        _exit_now(0)                               # no shutdown-time event (atexit, finalizers) after the last line


if __name__ == "__main__":
    main()
