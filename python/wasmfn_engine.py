"""The Python Lambda runtime contract on top of the wasmfn handler world.

One component (the "engine"), shared by every Python function; the user's
code is not in it. `init` imports the module named by `_HANDLER`
(`module.function`) from the task root, `handle` calls the function with
the event and a Lambda context object.

componentize-py runs this module's top level at BUILD time and snapshots
the heap: only modules imported here (directly or transitively) exist at
run time, because the stdlib files are not in the component. So the top
level imports every stdlib module user code may import, and warms up the
paths every invocation takes. Nothing here may depend on the environment
or the clock: both are the build's at this point.

The module is deliberately NOT called `app`: a user's `app.py` would then
resolve to this module out of sys.modules.
"""

import sys
import os
import json
import time
import logging
import traceback
import importlib

import io
import random
import importlib.abc
import importlib.machinery
import importlib.util

import wit_world
from wit_world.imports import wasmfn_handler_types as types, runtime
from wit_world.imports import stdout as _wasi_stdout, stderr as _wasi_stderr
from wit_world.imports import preopens as _preopens, wasi_filesystem_types as _fs
from componentize_py_types import Err

# ---------------------------------------------------------------- preload
# Every module user code may `import` at run time must be imported here
# (an unlisted stdlib module fails at run time with ModuleNotFoundError).
PRELOAD = [
    # what Lambda handlers import most
    "json", "os", "logging", "datetime", "time", "uuid", "base64", "hashlib",
    "re", "urllib.parse", "decimal", "random", "typing", "dataclasses",
    "collections", "functools", "traceback",
    # what else Lambda code commonly imports
    "abc", "array", "ast", "binascii", "bisect", "calendar", "codecs",
    "collections.abc", "contextlib", "contextvars", "copy", "csv", "enum",
    "errno", "fnmatch", "fractions", "gzip", "heapq", "hmac", "html",
    "html.parser", "http", "http.client", "http.cookies", "inspect", "io", "ipaddress",
    "itertools", "keyword", "linecache", "locale", "logging.handlers",
    "math", "mimetypes", "numbers", "operator", "pathlib", "pickle",
    "platform", "pprint", "queue", "secrets", "shlex", "shutil", "signal",
    "socket", "stat", "statistics", "string", "struct", "tempfile", "textwrap",
    "threading", "tokenize", "types", "unicodedata", "urllib", "urllib.request",
    "urllib.error", "uuid", "warnings", "weakref", "zipfile", "zlib", "zoneinfo",
    "email", "email.utils", "email.message", "email.mime.text",
    "xml.etree.ElementTree", "xml.dom.minidom", "json.decoder", "concurrent.futures",
    "asyncio", "glob", "getpass", "argparse", "configparser", "difflib", "graphlib",
    "sysconfig", "wsgiref.util", "copyreg", "selectors",
    # lazily imported by stdlib functions (must be in the snapshot too)
    "_strptime",              # time.strptime / datetime.strptime
    "encodings.idna", "encodings.latin_1", "encodings.ascii", "encodings.utf_16",
    "encodings.utf_32", "encodings.cp1252", "encodings.base64_codec",
    "encodings.hex_codec", "encodings.punycode", "encodings.unicode_escape",
    "encodings.raw_unicode_escape",
    "_pydecimal",
]
PRELOAD_FAILED = {}
for _name in PRELOAD:
    try:
        importlib.import_module(_name)
    except Exception as _e:  # e.g. no _ssl, no _sqlite3 in this CPython
        PRELOAD_FAILED[_name] = f"{type(_e).__name__}: {_e}"
del _name
if PRELOAD_FAILED:  # fail the build: componentize-py hides build-time output
    raise ImportError(f"wasmfn_engine: preload failed: {PRELOAD_FAILED}")

# ---------------------------------------------------------------- stdio
# sys.stdout and sys.stderr write through WASI itself, on a stream handle
# fetched for each write and dropped after it. wasi-libc's own stdio keeps
# its handles for good, and a SnapStart snapshot may hold no host handle:
# with these, printing at init leaves nothing open.
class _WasiStream(io.RawIOBase):
    def __init__(self, get_stream):
        self._get_stream = get_stream

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        try:
            with self._get_stream() as stream:
                for i in range(0, len(data), 4096):  # WASI's blocking write limit
                    stream.blocking_write_and_flush(data[i:i + 4096])
        except Err as e:
            raise OSError(f"writing to the log stream failed: {e.value}")
        return len(data)


def _text_stream(get_stream):
    return io.TextIOWrapper(io.BufferedWriter(_WasiStream(get_stream)),
                            encoding="utf-8", errors="backslashreplace",
                            line_buffering=True)


sys.stdout = _text_stream(_wasi_stdout.get_stdout)
sys.stderr = _text_stream(_wasi_stderr.get_stderr)


# ---------------------------------------------------------------- modules
# The handler's modules (under /var/task, and layers' /opt/python) are found
# and read through WASI's filesystem calls, each holding its directory
# handles for that call only, not through wasi-libc, whose table of
# preopened directories keeps them open once filled. So an init that only
# imports its code can be snapshotted, and later imports work the same.
_ROOTS = ("/var/task", "/opt")


def _in_roots(path):
    return any(path == r or path.startswith(r + "/") for r in _ROOTS)


def _at(path, call):
    """`call(descriptor, relative path)` on the preopened directory that
    holds `path`; every preopen handle is dropped again afterwards."""
    dirs = _preopens.get_directories()
    try:
        best = None
        for desc, name in dirs:
            root = name.rstrip("/") or "/"
            if (path == root or path.startswith(root + "/")) and (
                    best is None or len(root) > len(best[1])):
                best = (desc, root)
        if best is None:
            raise FileNotFoundError(2, "not in a mounted directory", path)
        return call(best[0], path[len(best[1]):].lstrip("/"))
    finally:
        for desc, _ in dirs:
            desc.__exit__(None, None, None)


def _lookup(entry, name):
    """What `name` is in the directory `entry`: "package", "module",
    "namespace" (a directory without __init__.py), or None; its three
    lookups share one set of preopen handles."""
    def look(desc, rel):
        base = f"{rel}/{name}" if rel else name

        def kind(path):
            try:
                return desc.stat_at(_fs.PathFlags.SYMLINK_FOLLOW, path).type
            except Err:
                return None
        if kind(base + "/__init__.py") == _fs.DescriptorType.REGULAR_FILE:
            return "package"
        if kind(base + ".py") == _fs.DescriptorType.REGULAR_FILE:
            return "module"
        if kind(base) == _fs.DescriptorType.DIRECTORY:
            return "namespace"
        return None
    try:
        return _at(entry, look)
    except OSError:
        return None


def _read(path):
    def read(desc, rel):
        with desc.open_at(_fs.PathFlags.SYMLINK_FOLLOW, rel, _fs.OpenFlags(0),
                          _fs.DescriptorFlags.READ) as f:
            chunks, offset = [], 0
            while True:
                chunk, end = f.read(1 << 16, offset)
                chunks.append(chunk)
                offset += len(chunk)
                if end or not chunk:
                    return b"".join(chunks)
    try:
        return _at(path, read)
    except Err as e:
        if e.value == _fs.ErrorCode.NO_ENTRY:
            raise FileNotFoundError(2, "No such file or directory", path)
        raise OSError(f"reading {path}: {e.value}")


class _TaskLoader(importlib.abc.FileLoader, importlib.abc.SourceLoader):
    def get_data(self, path):
        return _read(path)


class _TaskFinder(importlib.abc.MetaPathFinder):
    """Finds modules and packages in the sys.path entries (or a package's
    __path__) under /var/task and /opt; everything else is left to the
    finders after it."""

    def find_spec(self, fullname, path=None, target=None):
        name = fullname.rpartition(".")[2]
        namespace = []
        for entry in (sys.path if path is None else path):
            if not isinstance(entry, str) or not _in_roots(entry):
                continue
            entry = entry.rstrip("/")
            base = entry + "/" + name
            found = _lookup(entry, name)
            if found in ("package", "module"):
                file = base + ("/__init__.py" if found == "package" else ".py")
                return importlib.util.spec_from_file_location(
                    fullname, file, loader=_TaskLoader(fullname, file),
                    submodule_search_locations=[base] if found == "package" else None)
            if found == "namespace":
                namespace.append(base)
        if namespace:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = namespace
            return spec
        return None


sys.meta_path.insert(0, _TaskFinder())


# ---------------------------------------------------------------- snapstart
# `snapshot_restore_py`, the module of Lambda's Python runtime hooks:
# before-snapshot hooks run at the end of a snapshotted init, after-restore
# hooks before the first event of every instance made from the snapshot,
# each in registration order. Either may be used as a decorator.
_before_snapshot = []
_after_restore = []
_restore_pending = False


def register_before_snapshot(func, *args, **kwargs):
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func, *args, **kwargs):
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot():
    return list(_before_snapshot)


def get_after_restore():
    return list(_after_restore)


_hooks_module = type(sys)("snapshot_restore_py")
for _f in (register_before_snapshot, register_after_restore,
           get_before_snapshot, get_after_restore):
    setattr(_hooks_module, _f.__name__, _f)
sys.modules["snapshot_restore_py"] = _hooks_module
del _f


def _run_hooks(hooks):
    for func, args, kwargs in hooks:
        func(*args, **kwargs)


def _restored():
    """The first event of an instance made from a snapshot: what must not
    be the snapshot's is made anew before the handler runs."""
    global _restore_pending
    _restore_pending = False
    random.seed()  # a seed of its own, not the one drawn at init
    _enter_task_root()
    try:
        _run_hooks(_after_restore)
    except Exception as e:
        err = _from_exception(e)
        raise _Fault("Runtime.AfterRestoreError", f"{err.error_type}: {err.error_message}",
                     err.stack_trace)


# ---------------------------------------------------------------- logging
# AWS's Python runtime: the root logger gets one handler writing
# `[LEVEL]\t<UTC time>.<ms>Z\t<request id>\t<message>` to stdout; the root
# level stays WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise.
_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


class _LambdaHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record)
            # One record is one line for the host (as CloudWatch keeps one
            # record one event): newlines inside it become carriage returns.
            if "\n" in msg:
                msg = msg.replace("\n", "\r")
            sys.stdout.write(msg + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


logging.Formatter.converter = time.gmtime
_log_handler = _LambdaHandler()
_log_handler.setFormatter(logging.Formatter(
    "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
    "%Y-%m-%dT%H:%M:%S",
))
_log_handler.addFilter(_RequestIdFilter())
logging.getLogger().addHandler(_log_handler)

# ---------------------------------------------------------------- errors
_ENGINE_FILE = __file__


def _function_error(error_type, message, stack=None):
    return types.FunctionError(error_type=error_type, error_message=message,
                               stack_trace=stack or [])


def _from_exception(exc):
    """Lambda's shape for an exception: the frames after the engine's own,
    formatted as AWS's runtime does (`  File "...", line N, in f\\n    code\\n`)."""
    frames = [(f.filename, f.lineno, f.name, f.line)
              for f in traceback.extract_tb(exc.__traceback__)]
    while frames and frames[0][0] == _ENGINE_FILE:
        frames.pop(0)
    return _function_error(type(exc).__name__, str(exc), traceback.format_list(frames))


def _log_error(err):
    """The `[ERROR] Type: message` record AWS's runtime prints for a failure."""
    head = "[ERROR]"
    if err.error_type:
        head += " " + err.error_type
    if err.error_message:
        head += (":" if err.error_type else "") + " " + err.error_message
    lines = [head]
    if err.stack_trace:
        lines.append("Traceback (most recent call last):")
        for element in err.stack_trace:
            lines.extend(element.splitlines())
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


class _Fault(Exception):
    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.error = _function_error(error_type, message, stack)


# ---------------------------------------------------------------- context
class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")

    def __repr__(self):
        return (f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
                f"cognito_identity_pool_id={self.cognito_identity_pool_id}])")


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name")

    def __init__(self, d):
        for k in self.__slots__:
            setattr(self, k, d.get(k))


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, d):
        self.custom = d.get("custom")
        self.env = d.get("env")
        c = d.get("client")
        self.client = Client(c) if isinstance(c, dict) else c


class LambdaContext:
    def __init__(self, ctx):
        self.aws_request_id = ctx.request_id
        self.function_name = ctx.function_name
        self.function_version = ctx.function_version
        self.invoked_function_arn = ctx.invoked_function_arn
        self.memory_limit_in_mb = str(ctx.memory_limit_in_mb)  # a str, as on AWS
        self.log_group_name = ctx.log_group_name
        self.log_stream_name = ctx.log_stream_name
        self.identity = CognitoIdentity(json.loads(ctx.identity) if ctx.identity else {})
        self.client_context = (ClientContext(json.loads(ctx.client_context))
                               if ctx.client_context else None)
        # Set under tenant isolation only, as on Lambda.
        self.tenant_id = ctx.tenant_id

    @staticmethod
    def get_remaining_time_in_millis():
        return runtime.remaining_time_ms()

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"log_group_name={self.log_group_name},"
                f"log_stream_name={self.log_stream_name},"
                f"function_name={self.function_name},"
                f"memory_limit_in_mb={self.memory_limit_in_mb},"
                f"function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn},"
                f"client_context={self.client_context},identity={self.identity}])")


# ---------------------------------------------------------------- json
import decimal as _decimal


class _Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, _decimal.Decimal):  # boto3's DynamoDB numbers
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


_encoder = _Encoder()

# ---------------------------------------------------------------- handler
_handler = None


def _enter_task_root():
    """Lambda's working directory: the task root."""
    try:
        os.chdir(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    except OSError:
        pass


def _load_handler(snapshotting=False):
    sys.dont_write_bytecode = True  # the task root is read-only
    # Read at init, not at build: the real environment only exists now.
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    for p in (task_root, "/opt/python"):
        if p not in sys.path:
            sys.path.insert(0 if p == task_root else 1, p)
    if snapshotting:
        # chdir fills wasi-libc's preopen table; a restored instance does it
        # before its first event instead.
        return _import_handler(without=importlib.machinery.PathFinder)
    _enter_task_root()
    return _import_handler()


def _import_handler(without=None):
    """Imports the `_HANDLER` module and returns its function. `without`
    is a finder kept out of sys.meta_path meanwhile: in a snapshotted init,
    the path finder, which looks for modules through wasi-libc."""
    global _handler
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        logging.getLogger().setLevel(level)

    spec = os.environ.get("_HANDLER", "")
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}")
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict",
                     f"Cannot use built-in module {modname} as a handler module")
    kept = sys.meta_path[:]
    if without is not None:
        sys.meta_path[:] = [f for f in kept if f is not without]
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError",
                     f"Unable to import module '{modname}': {e}")
    except SyntaxError as e:
        raise _Fault("Runtime.UserCodeSyntaxError",
                     f"Syntax error in module '{modname}': {e}",
                     ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)])
    finally:
        sys.meta_path[:] = kept
    try:
        _handler = getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound",
                     f"Handler '{fname}' missing on module '{modname}'")
    return _handler


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        global _restore_pending
        try:
            if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
                _load_handler(snapshotting=True)
                _run_hooks(_before_snapshot)
                sys.stdout.flush()
                sys.stderr.flush()
                _restore_pending = True
            else:
                _load_handler()
        except _Fault as f:
            _log_error(f.error)
            raise Err(f.error)
        except Exception as e:  # an exception at the module's top level
            err = _from_exception(e)
            _log_error(err)
            raise Err(err)

    def handle(self, event: bytes, ctx: types.Context) -> bytes:
        global _request_id
        _request_id = ctx.request_id
        if ctx.trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = ctx.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            if _restore_pending:
                _restored()
            fn = _handler or _load_handler()
            try:
                payload = json.loads(event) if event else None
            except Exception as e:
                raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}")
            result = fn(payload, LambdaContext(ctx))
            if isinstance(result, bytes):
                return result
            try:
                return _encoder.encode(result).encode()
            except Exception as e:
                raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {e}")
        except _Fault as f:
            err = f.error
        except Exception as e:
            err = _from_exception(e)
        finally:
            # print(..., end="") must not linger into the next invocation.
            sys.stdout.flush()
            sys.stderr.flush()
        _log_error(err)
        raise Err(err)

    def handle_stream(self, event: bytes, ctx: types.Context) -> None:
        # AWS's Python runtime has no response streaming: a streamed
        # invocation gets the handler's response as its one chunk (a client
        # already gone has nothing to receive).
        payload = self.handle(event, ctx)
        try:
            runtime.write_response(payload)
        except Err:
            pass


# ---------------------------------------------------------------- warm-up
# Build time: run the per-invocation paths once so the snapshot has them
# (lazy imports, caches). No output, no clock-dependent state kept.
def _warm():
    _encoder.encode(json.loads('{"a": [1, "b", null, true, {"c": 2.5}]}'))
    logging.Formatter("%(asctime)s.%(msecs)03d", "%Y-%m-%dT%H:%M:%S").format(
        logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None))
    try:
        raise ValueError("warm")
    except ValueError as e:
        _from_exception(e)
    import datetime
    datetime.datetime.strptime("2024-01-01", "%Y-%m-%d")
    # An import from /var/task less its reads: the spec, the loader's type
    # checks (whose ABC caches start empty) and compiling a module.
    origin = "/var/task/_wasmfn_warm.py"
    loader = _TaskLoader("_wasmfn_warm", origin)
    spec = importlib.util.spec_from_file_location("_wasmfn_warm", origin, loader=loader)
    module = importlib.util.module_from_spec(spec)
    code = loader.source_to_code(b"import json\nX = {'a': 1}\n\ndef f(event, context):\n    return json.dumps(event)\n", origin)
    exec(code, module.__dict__)


_warm()
