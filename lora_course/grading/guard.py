"""The grading kernel's first code, before any student code: ``python -I -m lora_course.grading.guard -f CONN``.

It does two things, then runs ``ipykernel_launcher`` in the same process:

1. **An audit hook that stops the kernel when student code hooks or reaches into the interpreter.** Audit
   hooks (PEP 578) cannot be removed, and the first one installed sees every later event. This one ends the
   process at once (exit status ``TAMPER_EXIT``; the grader reports ``error: tampering``) on the events that
   let code watch or rewrite other code while it runs (``TAMPER_EVENTS``: a later audit hook, a trace or
   profile function, ``sys.monitoring``, the ``gc`` and ``sys._current_frames`` ways to objects and frames one
   holds no reference to), a function given different code (or any change to this module's functions), ctypes
   ``from_address``, ``string_at`` and symbols of the interpreter's C API, and opening ``/proc/<pid>/mem``.
   (ctypes ``memmove``/``cast`` and function pointers made from integers raise no audit event in CPython
   3.10-3.12: the guide says what that leaves.) The process is made non-dumpable, so no other process
   of the student's uid can read or write its memory. Nothing is recorded that student code could reset: the
   hook acts before the call it audits returns.
2. **The probe's entry point, reached without any name.** The grader's probe is the expression
   ``'<source>'.encode('lora_course_probe_<nonce>')``: a string literal and a method of ``str``, so no binding in
   the notebook (``exec``, ``globals``, ``__builtins__``) can redirect it. The codec search function registered
   here, ahead of the standard library's, answers that codec with :func:`make_runner`'s runner, which runs
   the source with the builtins of before the notebook, then encodes the ``RESULT`` it left and writes it
   itself (see probe.py). Every function reachable from the runner takes what it uses as default arguments
   (never a global name), and replacing those defaults stops the kernel.
"""

from __future__ import annotations

import sys

from lora_course.grading import runner_tools as _runner_tools
from lora_course.grading.runner_tools import _found_hooks, _json, _quiet, _restore, _tools

TAMPER_EXIT = 86
PROBE_CODEC = "lora_course_probe_"
SEAL_CODEC = "lora_course_seal"
KEY_VARIABLE = "LORA_COURSE_GUARD_KEY"          # the path of the key file, read and removed by install()
TAMPER_EVENTS = frozenset({
    "sys.addaudithook", "sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
    "sys.monitoring.register_callback", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys._current_frames", "sys._current_exceptions", "ctypes.cdata", "ctypes.string_at", "ctypes.wstring_at",
    "ctypes.PyObj_FromPtr",
})
RAW_SYMBOLS = ("Py", "_Py", "process_vm_", "ptrace", "mprotect", "memcpy", "memmove", "memset", "dlsym")
def make_sealer(key: bytes, tools):
    """``seal(frame)``: from the runner's ``frame``, write ``MAC\\n`` + its ``data`` to its ``channel`` file, where
    MAC = keyed BLAKE2b over SHA-256(the probe's source) + data (verified by the grader: probe.verify)."""
    def seal(frame, _key=key, _tools=tools):
        local = frame.f_locals
        source, channel, data = local["source"], local["channel"], local["data"]
        digest = _tools["sha256"](source.encode("utf-8", "surrogatepass")).digest()
        mac = _tools["blake2b"](digest + data, key=_key).hexdigest()
        out = (mac + "\n").encode("ascii") + data
        fd = _tools["open"](channel, _tools["flags"], 0o600)
        try:
            while out:
                out = out[_tools["write"](fd, out):]
        finally:
            _tools["close"](fd)
    return seal


def make_runner(trusted, tools, seal=None, _getframe=sys._getframe, _compile=compile, _exec=exec, _dict=dict,
                _str=str, _len=len, _hooks=_found_hooks, _json=_json, _quiet=_quiet, _restore=_restore):
    """The probe runner: ``runner(source)`` runs a probe from probe.py, then has its answer sealed and written
    to the channel file named on the source's first line (``# CHANNEL <path>``): the hooks found before the
    probe ran (a JSON list that only this code writes, first line), then the ``RESULT`` the probe left (JSON).
    ``seal`` None: the codec search function of :func:`install` seals it (it holds the key; nothing else does)."""
    def runner(source, errors="strict", namespace=None, _trusted=trusted, _tools=tools, _getframe=_getframe,
               _compile=_compile, _exec=_exec, _dict=_dict, _str=_str, _len=_len, _hooks=_hooks, _json=_json,
               _seal=seal, _seal_name=SEAL_CODEC, _quiet=_quiet, _restore=_restore):
        first = source.partition("\n")[0]
        if not first.startswith("# CHANNEL "):
            raise ValueError("not a probe")
        state = _quiet(_tools)                 # from here on no student code runs unless the probe calls it
        try:
            channel = first[len("# CHANNEL "):]   # noqa: F841 - the sealer reads it from this frame
            hooks = _hooks(_trusted, _tools)
            user_ns = namespace if namespace is not None else _getframe(1).f_globals
            scope = {"__builtins__": _dict(_trusted), "USER_NS": user_ns}
            _exec(_compile(source, "<lora-course probe>", "exec"), scope)
            _quiet(_tools, state)              # again: a project check's student code may have undone it
            result = scope.get("RESULT")
            head = "[" + ", ".join(['"' + h + '"' for h in hooks]) + "]\n"     # names of identifiers only
            data = (head + _json(result if _type_is_dict(result) else {"part": "none"}, _tools)).encode("utf-8")  # noqa: F841
            if _seal is not None:
                _seal(_getframe(0))
            else:
                try:
                    "".encode(_seal_name)           # the search function seals it, from this very frame
                except Exception:  # noqa: BLE001, S110 - sealed before any later search function ran, or not at all
                    pass
        finally:
            _restore(_tools, state)
        return b"", _len(source)
    return runner


def probe_runner():
    """``(runner, key)`` for a probe run in this process (nbgrader's grade cells), with the builtins of now."""
    import builtins
    import os
    from types import MappingProxyType
    key, tools = os.urandom(32), MappingProxyType(_tools())
    return make_runner(MappingProxyType(dict(vars(builtins))), tools, make_sealer(key, tools)), key


def _type_is_dict(obj, _type=type, _dict=dict):
    return _type(obj) is _dict


def proc_mem_opener(proc_dev: int, _stat=None, _lstat=None, _readlink=None, _islink=None):
    """``is_mem(path)``: whether opening ``path`` (text) reaches a process's memory file (``/proc/<pid>/mem``)
    by any name: ``/proc/self/mem``, ``/dev/../proc/self/mem``, ``mem`` relative to ``/proc/self`` (the working
    folder or a ``dir_fd``), or a symbolic link to it. A relative name ``mem`` always counts (its folder may be
    a ``dir_fd`` the event does not show); an absolute one when its folder is on procfs (device ``proc_dev``)."""
    import os
    import stat
    _stat, _lstat = _stat or os.stat, _lstat or os.lstat
    _readlink, _islink = _readlink or os.readlink, _islink or stat.S_ISLNK

    def is_mem(path, _stat=_stat, _lstat=_lstat, _readlink=_readlink, _islink=_islink, _dev=proc_dev):
        for _hop in range(9):                            # a chain of links, each followed by hand
            folder, _sep, name = path.rpartition("/")
            if name == "mem":
                if not path.startswith("/"):
                    return True
                try:
                    return _stat(folder or "/").st_dev == _dev
                except OSError:
                    return False
            try:
                if not _islink(_lstat(path).st_mode):
                    return False
                target = _readlink(path)
            except (OSError, ValueError):
                return False
            path = target if target.startswith("/") else folder + "/" + target
        return True                                       # links nine deep: no honest notebook opens that
    return is_mem


def install() -> None:
    """Make the process non-dumpable, register the probe's codec ahead of the standard library's, then add
    the audit hook (last, because it refuses every later one)."""
    import builtins
    import codecs
    import ctypes
    import encodings
    import os
    from types import FunctionType, MappingProxyType

    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)          # PR_SET_DUMPABLE = 0
    key_file = os.environ.pop(KEY_VARIABLE, "")
    if key_file:
        with open(key_file, "rb") as f:
            key = f.read()
        os.unlink(key_file)
    else:
        key = os.urandom(32)                  # nobody can check its answers: only for trying the guard out
    from _ctypes import _cast_addr, _memmove_addr, _memset_addr, _string_at_addr
    raw_calls = frozenset({_cast_addr, _memmove_addr, _memset_addr, _string_at_addr})   # where audited
    tools = MappingProxyType(_tools())
    runner = make_runner(MappingProxyType(dict(vars(builtins))), tools)
    info = codecs.CodecInfo(runner, runner, name="lora-course-probe")
    sealer = make_sealer(key, tools)

    def search(name, _prefix=PROBE_CODEC, _info=info, _seal_name=SEAL_CODEC, _getframe=sys._getframe,
               _code=runner.__code__, _seal=sealer):
        if name == _seal_name:
            frame = _getframe(1)
            if frame.f_code is _code:          # only the runner's own frame is sealed
                _seal(frame)
            return None
        return _info if name.startswith(_prefix) else None

    codecs.unregister(encodings.search_function)
    codecs.register(search)
    codecs.register(encodings.search_function)
    import pathlib
    path_types = (pathlib.PosixPath, pathlib.PurePosixPath, os.DirEntry)
    path_classes = (*path_types, pathlib.PurePath, pathlib.Path)
    proc_mem = proc_mem_opener(os.stat("/proc").st_dev)

    def hook(event, args, _events=TAMPER_EVENTS, _exit=os._exit, _write=os.write, _type=type, _str=str,
             _bytes=bytes, _int=int, _function=FunctionType, _raw=raw_calls, _symbols=RAW_SYMBOLS,
             _files=(__file__, _runner_tools.__file__), _paths=path_types, _path_classes=path_classes,
             _decode=bytes.decode,
             _proc_mem=proc_mem):
        bad = event in _events
        if bad:
            pass
        elif event == "object.__setattr__":
            target = args[0]
            if _type(target) is _function:      # asyncio's types.coroutine changes only a code's flags
                code = target.__code__
                bad = code.co_filename in _files or (args[1] == "__code__" and (
                    args[2].co_code != code.co_code or args[2].co_filename != code.co_filename))
            else:                                 # a path class whose str() the "open" check below uses
                bad = target in _path_classes
        elif event == "ctypes.call_function":
            bad = args[0] in _raw
        elif event == "ctypes.dlsym":
            bad = _type(args[1]) is not _str or args[1].startswith(_symbols)
        elif event == "open":
            path = args[0]
            if _type(path) in _paths:
                path = _str(path)
            if _type(path) is _bytes:
                path = _decode(path, "utf-8", "surrogateescape")
            if _type(path) is _str:
                bad = _proc_mem(path)
            else:
                bad = _type(path) is not _int
        if bad:
            try:
                _write(2, b"\nlora-course: tampering: audit event " + _str(event).encode() + b"; kernel stopped\n")
            finally:
                _exit(TAMPER_EXIT)

    sys.addaudithook(hook)


def main() -> None:
    """Install the guard, then run ipykernel in this process (without debugpy: its import sets a trace
    function, and a grading kernel has no debugger)."""
    install()
    sys.modules["debugpy"] = None                    # type: ignore[assignment] - import debugpy: ImportError
    import runpy
    sys.argv[0] = "ipykernel_launcher"
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
