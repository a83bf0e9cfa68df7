"""The ``backprop`` command: the API from the terminal, on top of :mod:`app.client`.

Each command posts a request file (``-`` for stdin) to its endpoint, in this process by default
or to the server at ``--url`` (or ``BACKPROP_URL``), and prints the answer: JSON for most,
the notebook's printout (or a table) for ``train``, the worked solution for ``explain``, the
generated file for ``export``. A 422
prints its problems as ``path: message`` lines on stderr and exits with status 1.

What a command needs is imported when it runs (the request models, Rich, NumPy, httpx, the
app), so that ``backprop --help`` and a command sent to a server start quickly
(``python -m bench startup`` measures it).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from functools import cache
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, NoReturn, get_args

import click
import orjson

from app.cli.plots import PlotUnavailableError, check_plot_path, plot_curves
from app.cli.request_files import InputError, csv_fields, ensure_directory, read_request
from app.client import (
    APIError,
    BackpropError,
    BackwardFields,
    CheckFields,
    Client,
    ExplainFields,
    ExportFields,
    ForwardFields,
    GradcheckFields,
    InvalidRequestError,
    LossFields,
    TrainFields,
)
from app.schemas.export_files import DATA_FILENAME, DATA_KEYS, ExportFormat

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console
    from rich.progress import Progress, TaskID

OK: Final = 0
"""The exit status of a command that did what was asked."""
FAILED: Final = 1
"""The exit status of a request the API refused, or that could not be sent, or a file that could
not be read or written."""
USAGE: Final = 2
"""The exit status of a command line Click refuses (its own convention)."""
NOT_DONE: Final = 3
"""The exit status of an answer that says the work did not succeed: a run that diverged or met
its deadline, a check with a wrong value (not one carried forward), a gradient check that
failed."""
INTERRUPTED: Final = 130
"""The exit status after Ctrl-C (128 + SIGINT, the shell's convention)."""
UNFINISHED_RUNS: Final = frozenset({"diverged", "deadline_exceeded"})
"""The statuses of a run that stopped short of what it was asked (the others stop as asked)."""


@cache
def stderr() -> Console:
    """Where the progress bar goes, so that stdout holds the answer alone."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def fail(*lines: str) -> None:
    """Print ``lines`` on stderr and exit with :data:`FAILED`."""
    for line in lines:
        click.echo(line, err=True)
    raise SystemExit(FAILED)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the client's and the input's exceptions into messages and an exit status."""
    try:
        yield
    except InvalidRequestError as exc:
        from app.cli.formats import problem_lines

        fail("the request is invalid (422):", *problem_lines(exc.problems))
    except APIError as exc:
        fail(f"the server answered {exc.status}: {exc.detail}")
    except BackpropError as exc:
        fail(str(exc))
    except (InputError, PlotUnavailableError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(INTERRUPTED) from None


def echo_json(model: BaseModel) -> None:
    """The answer as the server wrote it (the fields it sent), indented."""
    click.echo(model.model_dump_json(exclude_unset=True, indent=2))


def request_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The request file and the CSV options every endpoint command takes."""
    command = click.option(
        "--input-columns",
        default="",
        help="With --csv: the input columns, comma-separated (default: every other column).",
    )(command)
    command = click.option(
        "--target-columns",
        default="",
        help="With --csv: the target columns, comma-separated.",
    )(command)
    command = click.option(
        "--csv",
        "csv_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Build inputs and targets from this CSV file (with a header row).",
    )(command)
    return click.argument("request", type=click.Path(dir_okay=False, allow_dash=True))(command)


def body_of(
    request: str,
    csv_file: Path | None,
    targets: str,
    inputs: str,
    fields: type[Any],
) -> dict[str, Any]:
    """The request file's body, with inputs and targets from the CSV file when one is given,
    cut to the endpoint's request fields (``fields``, its ``TypedDict`` in :mod:`app.client`,
    held to the request model by the client's tests; a ``claimed``'s numbers as written, for
    /check's precision): any example file serves every command,
    and the fields left out are named on stderr. Column options without ``--csv``, and
    ``--csv`` without ``--target-columns`` where the request has targets, are usage errors."""
    names = fields.__required_keys__ | fields.__optional_keys__
    if csv_file is None and (targets or inputs):
        given = "--target-columns" if targets else "--input-columns"
        raise click.UsageError(f"{given} needs --csv: the columns are a CSV file's")
    if csv_file is not None and not targets and "targets" in names:
        raise click.UsageError("--csv needs --target-columns: which columns are the targets")
    body = read_request(request, written=("claimed",) if "claimed" in names else ())
    if csv_file is not None:
        columns = [[c.strip() for c in s.split(",") if c.strip()] for s in (targets, inputs)]
        body |= csv_fields(csv_file, columns[0], columns[1])
    if "learning_rate" in names:
        body = with_learning_rate(body, shown_name(request))
    ignored = [name for name in body if name not in names]
    if ignored:
        command = click.get_current_context().info_name
        names = ", ".join(ignored)
        shown = shown_name(request)
        click.echo(f"{shown}: {command} ignores {names} (not its request's fields)", err=True)
    return {name: value for name, value in body.items() if name not in ignored}


def shown_name(request: str) -> str:
    """The request file's name in messages."""
    return "<stdin>" if request == "-" else request


def with_learning_rate(body: dict[str, Any], shown: str) -> dict[str, Any]:
    """A training file's body for ``check``, which grades one SGD step (with its momentum,
    Nesterov, dampening and weight decay): a body's own ``learning_rate`` wins over its optimizer
    (left out, as /check takes one or the other); an SGD optimizer is sent as it is; another one
    (Adam) becomes its learning rate, named on stderr, since the values graded are then a plain
    SGD step's and not that run's."""
    optimizer = body.get("optimizer")
    if not isinstance(optimizer, dict):
        return body
    if "learning_rate" in body:
        return {name: value for name, value in body.items() if name != "optimizer"}
    kind = optimizer.get("type", "sgd")
    from app.nn.optimizers import OPTIMIZERS

    option = OPTIMIZERS.get(kind)
    if option is None or kind == "sgd":  # the server names the valid types, and grades SGD
        return body
    rate = optimizer.get("learning_rate", option.defaults.learning_rate)
    click.echo(
        f"{shown}: check grades a plain SGD step at the optimizer's learning_rate {rate}; "
        f"the run's first step differs (type {kind})",
        err=True,
    )
    plain = ("optimizer", "optimizer_state")
    return {name: value for name, value in body.items() if name not in plain} | {
        "learning_rate": rate
    }


class Backprop(click.Group):
    """The command group, whose own options (``--url``) may also follow the subcommand, as
    kubectl's and gh's do: they are moved before it, ahead of Click's parsing."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name: not option.is_flag
            for option in self.params
            if isinstance(option, click.Option)
            for name in option.opts
        }
        moved: list[str] = []
        rest: list[str] = []
        at = 0
        while at < len(args):
            name, equals, _ = args[at].partition("=")
            if args[at] == "--":
                rest += args[at:]
                break
            width = 2 if takes_value.get(name) and not equals else 1
            if at + width > len(args):
                raise click.UsageError(f"Option {name!r} requires an argument.", ctx)
            (moved if name in takes_value else rest).extend(args[at : at + width])
            at += width if name in takes_value else 1
        return super().parse_args(ctx, moved + rest)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; when stdout's reader has gone (``backprop train … | head -1``),
        end quietly as git, gh and kubectl do: killed by SIGPIPE, which a shell reports as
        status 141 (Click's own handling would exit 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            closed_pipe()


def closed_pipe() -> NoReturn:
    """End the process by SIGPIPE's default action, silently: Python ignores the signal (so
    that a socket's closed peer is an error, not a death), hence it is restored first, and
    nothing left in a buffer is flushed."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + signal.SIGPIPE)  # not reached: the signal ends the process


@click.group(cls=Backprop, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar="BACKPROP_URL",
    show_envvar=True,
    help="The server to post to, before or after the command (default: run the app in this "
    "process).",
)
@click.version_option(package_name="backprop-api", prog_name="backprop")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """backprop: a dense network's forward pass, loss, gradients and training, explained.

    REQUEST is a JSON file (see examples/), or - to read it from stdin.

    Exit status: 0 done; 1 a request refused or not sent, a file not read or written; 2 a
    command line not valid; 3 a run that diverged or met its deadline, a check with a wrong
    value, a gradient check that failed; 130 interrupted; killed by SIGPIPE (141 in a shell)
    when the reader of its output has gone (| head).
    """
    ctx.obj = url


def client_of(ctx: click.Context) -> Client:
    """The client of the chosen server, or of the app in this process (built here, on first use,
    so that a command for a server never imports the app)."""
    if ctx.obj is not None:
        return ctx.with_resource(Client(ctx.obj))
    from app.main import in_process_app

    signal.signal(signal.SIGINT, exit_interrupted)
    return ctx.with_resource(Client(app=in_process_app()))


def exit_interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C with the app in this process: exit with :data:`INTERRUPTED` at once. A
    ``KeyboardInterrupt`` would wait for the engine's run in its worker thread to end (up to its
    deadline); nothing is lost, as the app's answer has not arrived yet, and what was printed is
    flushed."""
    sys.stdout.flush()
    click.echo("interrupted", err=True)
    os._exit(INTERRUPTED)


def output_form(**flags: bool) -> str | None:
    """The name of the one output flag given, or None; two are a usage error, not a choice."""
    given = [name for name, on in flags.items() if on]
    if len(given) > 1:
        raise click.UsageError(f"--{given[0]} and --{given[1]} ask for different outputs: give one")
    return given[0] if given else None


def succeeded(answer: BaseModel) -> bool:
    """False for a check with a wrong value (``all_correct``) or a failed gradient check
    (``passed``); True for any other answer."""
    return bool(getattr(answer, "all_correct", True)) and bool(getattr(answer, "passed", True))


def endpoint(name: str, summary: str, fields: type[Any]) -> None:
    """Register a command that posts its request to ``/name`` and prints the answer's JSON;
    ``fields`` is its request's ``TypedDict`` in :mod:`app.client`."""

    @cli.command(name, help=f"{summary} (POST /{name}); prints the answer's JSON.")
    @request_options
    @click.pass_context
    def command(
        ctx: click.Context,
        request: str,
        csv_file: Path | None,
        target_columns: str,
        input_columns: str,
    ) -> None:
        with reported():
            body = body_of(request, csv_file, target_columns, input_columns, fields)
            answer = getattr(client_of(ctx), name)(body)
            echo_json(answer)
        if not succeeded(answer):
            raise SystemExit(NOT_DONE)


endpoint("forward", "Every layer's z and a, and the outputs", ForwardFields)
endpoint("loss", "The loss (and accuracy) and the outputs", LossFields)
endpoint("backward", "The forward pass, the loss and every gradient", BackwardFields)
endpoint("gradcheck", "Analytic gradients against central finite differences", GradcheckFields)


@cli.command()
@request_options
@click.option("--json", "as_json", is_flag=True, help="The answer's JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    request: str,
    csv_file: Path | None,
    target_columns: str,
    input_columns: str,
    as_json: bool,
) -> None:
    """Values computed by hand for one SGD step, checked one by one (POST /check): one line per
    claimed value (✓ correct, ↪ carried forward, ✗ wrong with its mistake), then the score.
    Exits with 3 when a value is wrong; carried-forward values are not wrong."""
    with reported():
        body = body_of(request, csv_file, target_columns, input_columns, CheckFields)
        answer = client_of(ctx).check(body)
        if as_json:
            echo_json(answer)
        else:
            from app.cli.formats import check_lines

            click.echo("\n".join(check_lines(answer)))
    if answer.first_wrong is not None:
        raise SystemExit(NOT_DONE)


@cli.command()
@request_options
@click.option("--markdown", is_flag=True, help="Markdown with LaTeX.")
@click.option("--json", "as_json", is_flag=True, help="The steps as JSON.")
@click.pass_context
def explain(
    ctx: click.Context,
    request: str,
    csv_file: Path | None,
    target_columns: str,
    input_columns: str,
    markdown: bool,
    as_json: bool,
) -> None:
    """The worked solution of one step (POST /explain), as text by default."""
    form = output_form(markdown=markdown, json=as_json)
    with reported():
        body = body_of(request, csv_file, target_columns, input_columns, ExplainFields)
        if form == "json":
            body.pop("format", None)
        else:
            body["format"] = form or "text"
        answer = client_of(ctx).explain(body)
        if isinstance(answer, str):
            click.echo(answer.rstrip("\n"))
        else:
            echo_json(answer)


@cli.command()
@request_options
@click.option(
    "--format",
    "form",
    type=click.Choice(get_args(ExportFormat)),
    help="pytorch, numpy or json (default: the request's format, else pytorch).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the file here (default: print it).",
)
@click.option(
    "--data-file",
    is_flag=True,
    help=f"Do not embed the data: write it to {DATA_FILENAME} next to --output, where the script "
    "reads it.",
)
@click.pass_context
def export(
    ctx: click.Context,
    request: str,
    csv_file: Path | None,
    target_columns: str,
    input_columns: str,
    form: str | None,
    output: Path | None,
    data_file: bool,
) -> None:
    """A script that builds the network and trains it as /train does (PyTorch or NumPy), or
    the network as a PyTorch state_dict (POST /export)."""
    with reported():
        body = body_of(request, csv_file, target_columns, input_columns, ExportFields)
        body["format"] = form or body.get("format", "pytorch")
        if data_file:
            if output is None:
                raise InputError("--data-file needs --output: the data goes next to the script")
            body["include_data"] = False
        if output is not None:
            ensure_directory(output, "--output")
        answer = client_of(ctx).export(body)
        if output is None:
            click.echo(answer.content, nl=False)
            return
        write(output, answer.content.encode())
        if data_file:
            data = {key: body[key] for key in DATA_KEYS if key in body}
            write(output.with_name(DATA_FILENAME), orjson.dumps(data))


def write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path``; a failure is an :class:`InputError` naming the file."""
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror})") from None


def may_be_terminal() -> bool:
    """Whether Rich may take stdout or stderr for a terminal (a tty, or ``TTY_COMPATIBLE=1`` or
    ``FORCE_COLOR`` saying so, its own tests): when neither can be, a run is printed without
    importing Rich, which would find no terminal to draw on."""
    environ = os.environ
    forced = environ.get("TTY_COMPATIBLE") == "1" or bool(environ.get("FORCE_COLOR"))
    return forced or sys.stdout.isatty() or sys.stderr.isatty()


def terminal_console() -> Console:
    """Rich's console on stdout, for the table and a printout shared with the progress bar."""
    from rich.console import Console

    return Console(highlight=False)


def add_task(bar: Progress, epochs: Any) -> TaskID | None:
    """The run's task on ``bar`` when the bar shows, ``epochs`` long (the request's, else the
    default's; a count that is not one is the server's to refuse)."""
    if bar.disable:
        return None
    if epochs is None:
        from app.client import TrainRequest

        epochs = TrainRequest.model_fields["epochs"].default
    total = epochs if isinstance(epochs, int) else None
    return bar.add_task("train", total=total, loss="…")


def print_table(out: Console | None, entries: list[dict[str, Any]]) -> None:
    """The table of the recorded epochs on ``out``, when a table is asked for (``out`` given)."""
    if out is not None:
        from app.cli.formats import trace_table

        out.print(trace_table(entries))


def progress_bar(console: Console) -> Progress:
    """Epochs done, the last loss and the time left on ``console``, shown when stderr is a
    terminal (even with stdout redirected, as curl and pip do); it vanishes when the run ends.
    Nothing is redirected: :func:`stream` writes the printout itself."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not stderr().is_terminal,
        redirect_stdout=False,
        redirect_stderr=False,
    )


@cli.command()
@request_options
@click.option("--table", is_flag=True, help="A compact table of the epochs.")
@click.option("--json", "as_json", is_flag=True, help="The answer of POST /train as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the loss (and accuracy, validation loss and validation accuracy) curves into "
    "this PNG or SVG file (needs matplotlib).",
)
@click.option("--log-scale", is_flag=True, help="With --plot: the loss on a logarithmic axis.")
@click.pass_context
def train(
    ctx: click.Context,
    request: str,
    csv_file: Path | None,
    target_columns: str,
    input_columns: str,
    table: bool,
    as_json: bool,
    plot: Path | None,
    log_scale: bool,
) -> None:
    """Train (POST /train/stream): each recorded epoch in the notebook's layout (H, y_pred, loss,
    the gradients, the updated weights), then the run's end. A progress bar shows on a terminal
    while epochs arrive; piped output gets none."""
    form = output_form(table=table, json=as_json)
    if log_scale and plot is None:
        raise click.UsageError("--log-scale needs --plot: it sets the plot's loss axis")
    with reported():
        if plot is not None:
            check_plot_path(plot)
        body = body_of(request, csv_file, target_columns, input_columns, TrainFields)
        client = client_of(ctx)
        status: str | None
        if form == "json":
            answer = client.train(body)
            echo_json(answer)
            entries = [entry.model_dump(exclude_unset=True) for entry in answer.trace]
            status = answer.status
        else:
            entries, status = stream(client, body, form == "table")
        if plot is not None:
            plot_curves(entries, plot, log_scale)
    if status in UNFINISHED_RUNS:
        raise SystemExit(NOT_DONE)


def stream(
    client: Client, body: dict[str, Any], table: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """Stream a run, printing each epoch as it arrives (or the table at the end); returns the
    recorded epochs (as plain JSON: no model is imported to print a run) and the run's status.
    Interrupted (Ctrl-C), it closes the stream (a server stops the run), prints the table of the
    epochs received when one was asked for, and re-raises.

    The printout is the notebook's, byte for byte at any terminal width: when stdout is the
    terminal the bar is drawn on, it goes through the bar's console unwrapped (``Console.out``,
    no wrapping, markup or highlighting), so that the bar is redrawn below it."""
    from app.cli.formats import notebook_epoch, summary_line

    entries: list[dict[str, Any]] = []
    summary: dict[str, Any] | None = None
    out = terminal_console() if table or may_be_terminal() else None
    shared = out is not None and out.is_terminal and stderr().is_terminal
    try:
        with (
            progress_bar(out if shared else stderr()) if out is not None else nullcontext() as bar,
            closing(client.train_lines(body)) as items,
        ):
            task = None if bar is None else add_task(bar, body.get("epochs"))
            for item in items:
                if "status" in item:  # the summary, the last line
                    summary = item
                    continue
                entries.append(item)
                if bar is not None and task is not None:
                    loss = "…" if item.get("loss") is None else f"{item['loss']:.6g}"
                    bar.update(task, completed=item["epoch"], loss=loss)
                if table:
                    continue
                text = "\n".join(notebook_epoch(item))
                if shared and out is not None:
                    out.out(text)
                else:
                    print(text, flush=True)
    except KeyboardInterrupt:
        print_table(out if table else None, entries)
        last = f" after epoch {entries[-1]['epoch']}" if entries else ""
        click.echo(f"interrupted{last}: {len(entries)} recorded epochs printed", err=True)
        raise SystemExit(INTERRUPTED) from None
    print_table(out if table else None, entries)
    if summary is None:
        return entries, None
    click.echo(summary_line(summary))
    return entries, str(summary["status"])


@cli.command("exercises")
@click.argument("template")
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="A CSV file with a header row and a column name (or student).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder to write (made if missing).",
)
@click.option("--course", default="", help="Hashed with each name: other course, other numbers.")
@click.pass_context
def exercises(ctx: click.Context, template: str, roster: Path, out: Path, course: str) -> None:
    """A different exercise for every student of ROSTER (POST /exercises): sheets, notebooks,
    worked solutions and the answer key in OUT.

    TEMPLATE is a ready template's name (GET /exercises lists them) or a JSON file of a
    template's fields.
    """
    from app.cli import exercises as class_set

    with reported():
        names = class_set.read_roster(roster)
        written = class_set.write_class(
            client_of(ctx), class_set.template_of(template), names, course, out
        )
    click.echo(f"{written.students} exercises in {written.out}", err=True)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--submissions",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the filled notebooks (FILE.ipynb) or answer files (FILE.json) are (default: "
    "DIRECTORY/submissions).",
)
@click.pass_context
def grade(ctx: click.Context, directory: Path, submissions: Path | None) -> None:
    """Grade every student's submission with /check: DIRECTORY/grades.csv and
    DIRECTORY/feedback/FILE.md."""
    from app.cli import exercises as class_set

    with reported():
        results = class_set.grade_class(
            client_of(ctx), directory, submissions or directory / "submissions"
        )
    graded = sum(grade.submission == "graded" for _, grade in results)
    click.echo(
        f"{graded} of {len(results)} submissions graded: {directory / 'grades.csv'}", err=True
    )


@cli.command()
@click.option("--host", help="Where to listen (sets HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="The port (sets PORT; default 8000).")
@click.option("--workers", type=int, help="Worker processes (sets WORKERS; default 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Start the server, as python -m app.server does, with the same environment variables
    (HOST, PORT, WORKERS, BLAS_THREADS, BACKPROP_*, ...)."""
    import app.server.serve

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[name] = str(value)
    app.server.serve.main()
