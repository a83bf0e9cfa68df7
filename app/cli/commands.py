"""The ``backprop`` command: the API from the terminal, on top of :mod:`app.client`.

Each command posts a request file (``-`` for stdin) to its endpoint, in this process by default
or to the server at ``--url`` (or ``BACKPROP_URL``), and prints the answer: JSON for most,
the notebook's printout (or a table) for ``train``, the worked solution for ``explain``, the
generated file for ``export``. A 422
prints its problems as ``path: message`` lines on stderr and exits with status 1.
"""

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final, get_args

import click
import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from app.cli.formats import (
    check_lines,
    notebook_epoch,
    problem_lines,
    summary_line,
    trace_table,
)
from app.cli.plots import PlotUnavailableError, check_plot_path, plot_curves
from app.cli.request_files import InputError, csv_fields, ensure_directory, read_request
from app.client import APIError, BackpropError, Client, InvalidRequestError
from app.schemas.diagnostics import CheckRequest, CheckResponse, GradcheckRequest
from app.schemas.explain import ExplainRequest
from app.schemas.export import DATA_FILENAME, DATA_KEYS, ExportFormat, TrainExport
from app.schemas.passes import BackwardRequest, ForwardRequest, LossRequest
from app.schemas.training import EpochTrace, TrainRequest, TrainSummary

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

stderr = Console(stderr=True, highlight=False)
"""Where the progress bar goes, so that stdout holds the answer alone."""


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
    model: type[BaseModel],
) -> dict[str, Any]:
    """The request file's body, with inputs and targets from the CSV file when one is given,
    cut to the fields of the endpoint's request ``model``: any example file serves every
    command, and the fields left out are named on stderr. Column options without ``--csv``,
    and ``--csv`` without ``--target-columns`` where the request has targets, are usage
    errors."""
    if csv_file is None and (targets or inputs):
        given = "--target-columns" if targets else "--input-columns"
        raise click.UsageError(f"{given} needs --csv: the columns are a CSV file's")
    if csv_file is not None and not targets and "targets" in model.model_fields:
        raise click.UsageError("--csv needs --target-columns: which columns are the targets")
    body = read_request(request)
    if csv_file is not None:
        columns = [[c.strip() for c in s.split(",") if c.strip()] for s in (targets, inputs)]
        body |= csv_fields(csv_file, columns[0], columns[1])
    ignored = [name for name in body if name not in model.model_fields]
    if ignored:
        command = click.get_current_context().info_name
        names = ", ".join(ignored)
        shown = "<stdin>" if request == "-" else request
        click.echo(f"{shown}: {command} ignores {names} (not its request's fields)", err=True)
    return {name: value for name, value in body.items() if name not in ignored}


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
    value, a gradient check that failed; 130 interrupted.
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


def endpoint(name: str, summary: str, model: type[BaseModel]) -> None:
    """Register a command that posts its request to ``/name`` and prints the answer's JSON."""

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
            body = body_of(request, csv_file, target_columns, input_columns, model)
            answer = getattr(client_of(ctx), name)(body)
            echo_json(answer)
        if not succeeded(answer):
            raise SystemExit(NOT_DONE)


endpoint("forward", "Every layer's z and a, and the outputs", ForwardRequest)
endpoint("loss", "The loss (and accuracy) and the outputs", LossRequest)
endpoint("backward", "The forward pass, the loss and every gradient", BackwardRequest)
endpoint("gradcheck", "Analytic gradients against central finite differences", GradcheckRequest)


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
        body = body_of(request, csv_file, target_columns, input_columns, CheckRequest)
        answer: CheckResponse = client_of(ctx).check(body)
        if as_json:
            echo_json(answer)
        else:
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
        body = body_of(request, csv_file, target_columns, input_columns, ExplainRequest)
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
        body = body_of(request, csv_file, target_columns, input_columns, TrainExport)
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


def progress_bar(console: Console) -> Progress:
    """Epochs done, the last loss and the time left on ``console``, shown when stderr is a
    terminal (even with stdout redirected, as curl and pip do); it vanishes when the run ends.
    Nothing is redirected: :func:`stream` writes the printout itself."""
    return Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not stderr.is_terminal,
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
        body = body_of(request, csv_file, target_columns, input_columns, TrainRequest)
        client = client_of(ctx)
        status: str | None
        if form == "json":
            answer = client.train(body)
            echo_json(answer)
            entries, status = answer.trace, answer.status
        else:
            entries, status = stream(client, body, form == "table")
        if plot is not None:
            plot_curves(entries, plot, log_scale)
    if status in UNFINISHED_RUNS:
        raise SystemExit(NOT_DONE)


def stream(
    client: Client, body: dict[str, Any], table: bool
) -> tuple[list[EpochTrace], str | None]:
    """Stream a run, printing each epoch as it arrives (or the table at the end); returns the
    recorded epochs and the run's status. Interrupted (Ctrl-C), it closes the stream (a server
    stops the run), prints the table of the epochs received when one was asked for, and
    re-raises.

    The printout is the notebook's, byte for byte at any terminal width: when stdout is the
    terminal the bar is drawn on, it goes through the bar's console unwrapped (``Console.out``,
    no wrapping, markup or highlighting), so that the bar is redrawn below it."""
    entries: list[EpochTrace] = []
    summary: TrainSummary | None = None
    out = Console(highlight=False)
    shared = out.is_terminal and stderr.is_terminal
    epochs = body.get("epochs", TrainRequest.model_fields["epochs"].default)
    try:
        with (
            progress_bar(out if shared else stderr) as bar,
            closing(client.train_stream(body)) as items,
        ):
            total = epochs if isinstance(epochs, int) else None  # else the server says what's wrong
            task = bar.add_task("train", total=total, loss="…")
            for item in items:
                if isinstance(item, TrainSummary):
                    summary = item
                    continue
                entries.append(item)
                loss = "…" if item.loss is None else f"{item.loss:.6g}"
                bar.update(task, completed=item.epoch, loss=loss)
                if table:
                    continue
                text = "\n".join(notebook_epoch(item))
                if shared:
                    out.out(text)
                else:
                    print(text, flush=True)
    except KeyboardInterrupt:
        if table:
            out.print(trace_table(entries))
        last = f" after epoch {entries[-1].epoch}" if entries else ""
        click.echo(f"interrupted{last}: {len(entries)} recorded epochs printed", err=True)
        raise SystemExit(INTERRUPTED) from None
    if table:
        out.print(trace_table(entries))
    if summary is None:
        return entries, None
    click.echo(summary_line(summary))
    return entries, summary.status


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
