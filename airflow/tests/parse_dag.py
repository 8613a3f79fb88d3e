#!/usr/bin/env python3
"""Parse an Airflow DAG file without Airflow, render its templates, print its tasks as JSON.

    python3 airflow/tests/parse_dag.py airflow/dags/prefscore_west_of_n.py \
        --logical-date 2026-03-14 [--var NAME=VALUE]... [--airflow 2|3] [--renderer auto|jinja2|minimal]

Airflow cannot be installed everywhere the project is built, so this script installs stub
modules for exactly the Airflow APIs the prefscore DAG is documented to use and nothing else:

  --airflow 2  ``airflow`` (DAG), ``airflow.decorators`` (task), ``airflow.operators.bash``
               (BashOperator); ``airflow.sdk`` and the standard provider are absent, so the DAG's
               Airflow-2 import fallbacks are exercised
  --airflow 3  ``airflow.sdk`` (DAG, task), ``airflow.providers.standard.operators.bash``
               (BashOperator)
  both         ``airflow.providers.apache.spark.operators.spark_submit`` (SparkSubmitOperator)

Any other ``airflow.*`` import fails with ModuleNotFoundError, even where a real Airflow is
installed. The stubs record constructor keyword arguments, reject arguments the real classes do
not take, apply the DAG's ``default_args`` the way Airflow does, and record ``>>`` dependencies.

Then, for a fixed logical date, every operator's template fields are rendered (``ds``,
``ds_nodash``, ``logical_date``, ``var.value.get(name, default)`` / ``var.value.name`` with the
``--var`` values, ``params``), with jinja2 when importable (``--renderer auto``) or a minimal
substitution of exactly those expressions (``--renderer minimal``). A ``{{`` left in a field
that Airflow does not template is an error. ``@task`` callables are called with their rendered
arguments and their return value (or exception) is reported as the task's XCom result.

Output (stdout): {"dag_id", "airflow_api", "renderer", "logical_date", "ds", "ds_nodash",
"imports", "dag": {...}, "tasks": {task_id: {...}}}. Exit status 1 with a message on stderr when
the DAG does not parse or a template cannot be rendered.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.abc
import importlib.machinery
import json
import re
import runpy
import sys
import types

# --------------------------------------------------------------------------------------------
# Stubs


class StubError(Exception):
    """The DAG uses the stubbed API in a way the real one would reject."""


BASE_OPERATOR_ARGS = {
    "task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
    "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
    "wait_for_downstream", "dag", "params", "default_args", "priority_weight", "weight_rule",
    "queue", "pool", "pool_slots", "execution_timeout", "on_execute_callback",
    "on_failure_callback", "on_success_callback", "on_retry_callback", "trigger_rule",
    "max_active_tis_per_dag", "do_xcom_push", "doc", "doc_md", "doc_json", "doc_yaml", "doc_rst",
    "task_display_name", "sla", "executor_config", "resources", "run_as_user", "inlets", "outlets",
    "retry_on_exception",
}

# The keyword arguments of the provider's SparkSubmitOperator and its template fields.
SPARK_SUBMIT_ARGS = {
    "application", "conf", "conn_id", "files", "py_files", "archives", "driver_class_path", "jars",
    "java_class", "packages", "exclude_packages", "repositories", "total_executor_cores",
    "executor_cores", "executor_memory", "driver_memory", "keytab", "principal", "proxy_user",
    "name", "num_executors", "status_poll_interval", "application_args", "env_vars", "verbose",
    "spark_binary", "properties_file", "yarn_queue", "deploy_mode", "use_krb5ccache",
}
SPARK_SUBMIT_TEMPLATE_FIELDS = (
    "application", "conf", "files", "py_files", "jars", "driver_class_path", "packages",
    "exclude_packages", "keytab", "principal", "proxy_user", "name", "application_args",
    "env_vars", "properties_file",
)
# BashOperator (airflow.operators.bash on Airflow 2, the standard provider on Airflow 3).
BASH_ARGS = {"bash_command", "env", "append_env", "output_encoding", "skip_on_exit_code", "cwd",
             "output_processor"}
BASH_TEMPLATE_FIELDS = ("bash_command", "env", "cwd")
DAG_ARGS = {
    "dag_id", "description", "schedule", "start_date", "end_date", "default_args", "catchup",
    "max_active_runs", "max_active_tasks", "max_consecutive_failed_dag_runs", "dagrun_timeout",
    "tags", "doc_md", "params", "render_template_as_native_obj", "template_searchpath",
    "user_defined_macros", "user_defined_filters", "is_paused_upon_creation", "owner_links",
    "on_success_callback", "on_failure_callback", "access_control", "dag_display_name",
    "fail_fast", "jinja_environment_kwargs",
}


class DagStub:
    _stack: list["DagStub"] = []
    instances: list["DagStub"] = []

    def __init__(self, dag_id=None, **kwargs):
        if dag_id is None:
            dag_id = kwargs.pop("dag_id", None)
        if not dag_id:
            raise StubError("DAG needs a dag_id")
        if "schedule_interval" in kwargs:
            raise StubError("schedule_interval was removed in Airflow 3: use schedule")
        unknown = set(kwargs) - DAG_ARGS
        if unknown:
            raise StubError(f"DAG got unexpected arguments {sorted(unknown)}")
        self.dag_id = dag_id
        self.kwargs = kwargs
        self.default_args = dict(kwargs.get("default_args") or {})
        self.params = dict(kwargs.get("params") or {})
        self.tasks: dict[str, OperatorStub] = {}
        DagStub.instances.append(self)

    def __enter__(self):
        DagStub._stack.append(self)
        return self

    def __exit__(self, *exc):
        DagStub._stack.pop()
        return False

    @classmethod
    def current(cls):
        return cls._stack[-1] if cls._stack else None

    def add(self, op):
        if op.task_id in self.tasks:
            raise StubError(f"duplicate task_id {op.task_id!r} in DAG {self.dag_id}")
        self.tasks[op.task_id] = op


class OperatorStub:
    operator = "BaseOperator"
    allowed_args: set[str] = set()
    template_fields: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        unknown = set(kwargs) - BASE_OPERATOR_ARGS - self.allowed_args
        if unknown:
            raise StubError(f"{self.operator} got unexpected arguments {sorted(unknown)}")
        if "task_id" not in kwargs:
            raise StubError(f"{self.operator} needs a task_id")
        dag = kwargs.pop("dag", None) or DagStub.current()
        if dag is None:
            raise StubError(f"task {kwargs['task_id']!r} created outside a DAG")
        # Airflow applies the DAG's default_args to every argument not given explicitly.
        self.kwargs = {**{k: v for k, v in dag.default_args.items()
                          if k in BASE_OPERATOR_ARGS | self.allowed_args}, **kwargs}
        self.task_id = kwargs["task_id"]
        self.dag = dag
        self.upstream: set[str] = set()
        self.downstream: set[str] = set()
        dag.add(self)

    def _link(self, other, downstream):
        others = other if isinstance(other, (list, tuple)) else [other]
        for o in others:
            if not isinstance(o, OperatorStub):
                raise StubError(f"cannot set a dependency between {self.task_id} and {o!r}")
            up, down = (self, o) if downstream else (o, self)
            up.downstream.add(down.task_id)
            down.upstream.add(up.task_id)
        return other

    def __rshift__(self, other):
        return self._link(other, True)

    def __lshift__(self, other):
        return self._link(other, False)

    def __rrshift__(self, other):  # [a, b] >> self
        self._link(other, False)
        return self

    def __rlshift__(self, other):  # [a, b] << self
        self._link(other, True)
        return self


class SparkSubmitOperatorStub(OperatorStub):
    operator = "SparkSubmitOperator"
    allowed_args = SPARK_SUBMIT_ARGS
    template_fields = SPARK_SUBMIT_TEMPLATE_FIELDS


class BashOperatorStub(OperatorStub):
    operator = "BashOperator"
    allowed_args = BASH_ARGS
    template_fields = BASH_TEMPLATE_FIELDS

    def __init__(self, **kwargs):
        if "bash_command" not in kwargs:
            raise StubError("BashOperator needs a bash_command")
        if str(kwargs["bash_command"]).rstrip().endswith((".sh", ".bash")):
            raise StubError("a bash_command ending in .sh is read by Airflow as a template file")
        super().__init__(**kwargs)


class PythonTaskStub(OperatorStub):
    """What calling a @task-decorated function creates (its XComArg and operator in one)."""

    operator = "@task"
    allowed_args = {"python_callable", "op_args", "op_kwargs", "templates_dict", "multiple_outputs",
                    "show_return_value_in_logs"}
    template_fields = ("templates_dict", "op_args", "op_kwargs")


class TaskDecoratorStub:
    def __init__(self, fn, kwargs):
        self.fn = fn
        self.kwargs = kwargs

    def override(self, **kwargs):
        return TaskDecoratorStub(self.fn, {**self.kwargs, **kwargs})

    def __call__(self, *args, **kwargs):
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, OperatorStub):
                raise StubError("XComArg arguments are not supported by this stub")
        options = dict(self.kwargs)
        task_id = options.pop("task_id", self.fn.__name__)
        return PythonTaskStub(task_id=task_id, python_callable=self.fn, op_args=list(args),
                              op_kwargs=dict(kwargs), **options)


def task_stub(python_callable=None, **kwargs):
    if python_callable is not None and callable(python_callable):
        return TaskDecoratorStub(python_callable, kwargs)
    return lambda fn: TaskDecoratorStub(fn, kwargs)


def _package(name, **attrs):
    m = types.ModuleType(name)
    m.__path__ = []  # a package: submodules resolve through StubFinder only
    m.__dict__.update(attrs)
    return m


def stub_modules(api):
    mods = {
        "airflow": _package("airflow"),
        "airflow.providers": _package("airflow.providers"),
        "airflow.providers.apache": _package("airflow.providers.apache"),
        "airflow.providers.apache.spark": _package("airflow.providers.apache.spark"),
        "airflow.providers.apache.spark.operators": _package("airflow.providers.apache.spark.operators"),
        "airflow.providers.apache.spark.operators.spark_submit": _package(
            "airflow.providers.apache.spark.operators.spark_submit", SparkSubmitOperator=SparkSubmitOperatorStub),
    }
    if api == "2":
        mods["airflow"].DAG = DagStub
        mods["airflow.decorators"] = _package("airflow.decorators", task=task_stub)
        mods["airflow.operators"] = _package("airflow.operators")
        mods["airflow.operators.bash"] = _package("airflow.operators.bash", BashOperator=BashOperatorStub)
    else:
        mods["airflow.sdk"] = _package("airflow.sdk", DAG=DagStub, task=task_stub)
        mods["airflow.providers.standard"] = _package("airflow.providers.standard")
        mods["airflow.providers.standard.operators"] = _package("airflow.providers.standard.operators")
        mods["airflow.providers.standard.operators.bash"] = _package(
            "airflow.providers.standard.operators.bash", BashOperator=BashOperatorStub)
    return mods


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the stub modules; every other airflow module is missing."""

    def __init__(self, modules):
        self.modules = modules
        self.imported: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.modules:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if fullname == "airflow" or fullname.startswith("airflow."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (not stubbed by parse_dag.py)", name=fullname)
        return None

    def create_module(self, spec):
        self.imported.append(spec.name)
        return self.modules[spec.name]

    def exec_module(self, module):
        pass


def install_pendulum_stub_if_missing():
    try:
        import pendulum  # noqa: F401
        return "pendulum"
    except ImportError:
        pass

    def datetime(year, month=1, day=1, hour=0, minute=0, second=0, tz="UTC"):
        if tz not in ("UTC", None):
            raise StubError("the pendulum stub supports tz='UTC' only")
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)

    sys.modules["pendulum"] = types.ModuleType("pendulum")
    sys.modules["pendulum"].datetime = datetime
    return "pendulum-stub"


# --------------------------------------------------------------------------------------------
# Rendering


class _VarValues:
    def __init__(self, values):
        self._values = values

    def get(self, name, default_var=None):
        return self._values.get(name, default_var)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._values:
            raise KeyError(f"Variable {name} does not exist")
        return self._values[name]


class _Var:
    def __init__(self, values):
        self.value = _VarValues(values)


def context_for(logical_date, variables, dag):
    return {
        "ds": logical_date.strftime("%Y-%m-%d"),
        "ds_nodash": logical_date.strftime("%Y%m%d"),
        "ts": logical_date.isoformat(),
        "logical_date": logical_date,
        "run_id": f"scheduled__{logical_date.isoformat()}",
        "dag": dag,
        "params": dag.params,
        "var": _Var(variables),
    }


_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_VAR_GET = re.compile(r"""var\.value\.get\(\s*(['"])(\w+)\1\s*(?:,\s*(['"])(.*?)\3\s*)?\)""")
_VAR_ATTR = re.compile(r"var\.value\.(\w+)")


def minimal_render(text, ctx):
    if "{%" in text or "{#" in text:
        raise StubError(f"the minimal renderer handles {{{{ expr }}}} only: {text!r}")

    def one(m):
        expr = m.group(1).strip()
        if expr in ("ds", "ds_nodash", "ts", "run_id"):
            return ctx[expr]
        g = _VAR_GET.fullmatch(expr)
        if g:
            v = ctx["var"].value.get(g.group(2), g.group(4))
            return "None" if v is None else str(v)
        a = _VAR_ATTR.fullmatch(expr)
        if a:
            return str(getattr(ctx["var"].value, a.group(1)))
        raise StubError(f"the minimal renderer cannot evaluate {{{{ {expr} }}}}")

    return _EXPR.sub(one, text)


def make_renderer(kind):
    if kind in ("auto", "jinja2"):
        try:
            import jinja2
        except ImportError:
            if kind == "jinja2":
                raise
        else:
            env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
            return "jinja2", lambda text, ctx: env.from_string(text).render(**ctx)
    return "minimal", minimal_render


def render(value, fn, ctx):
    """Renders strings inside str/list/tuple/dict values the way Airflow renders template fields."""
    if isinstance(value, str):
        return fn(value, ctx)
    if isinstance(value, (list, tuple)):
        return type(value)(render(v, fn, ctx) for v in value)
    if isinstance(value, dict):
        return {k: render(v, fn, ctx) for k, v in value.items()}
    return value


def has_template(value):
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, (list, tuple)):
        return any(has_template(v) for v in value)
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    return False


def jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(value)


# --------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dag_file")
    p.add_argument("--logical-date", default="2026-03-14")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--airflow", choices=["2", "3"], default="2")
    p.add_argument("--renderer", choices=["auto", "jinja2", "minimal"], default="auto")
    a = p.parse_args(argv)

    variables = {}
    for v in a.var:
        name, eq, value = v.partition("=")
        if not eq:
            p.error(f"--var needs NAME=VALUE, got {v!r}")
        variables[name] = value
    logical_date = dt.datetime.strptime(a.logical_date, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)

    finder = StubFinder(stub_modules(a.airflow))
    for name in list(sys.modules):
        if name == "airflow" or name.startswith("airflow."):
            del sys.modules[name]
    sys.meta_path.insert(0, finder)
    pendulum = install_pendulum_stub_if_missing()
    renderer, fn = make_renderer(a.renderer)

    try:
        runpy.run_path(a.dag_file, run_name="prefscore_dag_under_test")
        if len(DagStub.instances) != 1:
            raise StubError(f"expected one DAG, found {len(DagStub.instances)}")
        dag = DagStub.instances[0]
        ctx = context_for(logical_date, variables, dag)
        tasks = {}
        for op in dag.tasks.values():
            fields = {}
            for k, v in op.kwargs.items():
                if k in op.template_fields:
                    fields[k] = render(v, fn, ctx)
                elif has_template(v):
                    raise StubError(f"{op.task_id}.{k} holds a template but {op.operator} does not render {k}")
                else:
                    fields[k] = v
            out = {
                "operator": op.operator,
                "retries": int(fields.get("retries", 0)),
                "upstream": sorted(op.upstream),
                "downstream": sorted(op.downstream),
            }
            if isinstance(op, PythonTaskStub):
                out["op_args"] = fields.get("op_args", [])
                out["op_kwargs"] = fields.get("op_kwargs", {})
                try:
                    out["result"] = jsonable(fields["python_callable"](*out["op_args"], **out["op_kwargs"]))
                except Exception as e:  # noqa: BLE001 - reported, not raised: the task would fail
                    out["error"] = f"{type(e).__name__}: {e}"
            for k, v in fields.items():
                if k not in out and k not in ("python_callable", "task_id"):
                    out[k] = jsonable(v)
            tasks[op.task_id] = out
    except Exception as e:  # noqa: BLE001
        print(f"parse_dag.py: {a.dag_file}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        sys.meta_path.remove(finder)

    print(json.dumps({
        "dag_id": dag.dag_id,
        "airflow_api": a.airflow,
        "renderer": renderer,
        "pendulum": pendulum,
        "logical_date": a.logical_date,
        "ds": ctx["ds"],
        "ds_nodash": ctx["ds_nodash"],
        "imports": sorted(set(finder.imported)),
        "dag": jsonable({k: v for k, v in dag.kwargs.items() if k != "doc_md"}),
        "tasks": tasks,
    }, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
