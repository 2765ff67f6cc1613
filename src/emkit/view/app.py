"""``emkit view``: the pages of :mod:`emkit.view.pages` served from a store on 127.0.0.1 (Starlette on uvicorn:
each request reads the store afresh, so a page shows a run still in progress as it stands), or written to a
folder as plain files (``--export``) that open without a server. Both name pages alike (index.html,
compare.html, run-SLUG.html, answers-SLUG.html), so every link works in both."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.view.data import RunIndex, RunView, slug
from emkit.view.pages import answers_page, compare_page, index_page, run_page


def report_body(run: RunView) -> str | None:
    """The run's report.html without its head and title: the body the run page embeds."""
    if run.report is None:
        return None
    text = run.report.read_text(encoding="utf-8")
    cut = text.find("</style>")
    body = text[cut + len("</style>"):] if cut >= 0 else text
    return re.sub(r"^\s*<h1>.*?</h1>", "", body, count=1, flags=re.S)


def page_names(runs: list[RunView]) -> list[str]:
    """Every page of a store, as files of the export and paths of the server."""
    return ["index.html", "compare.html"] + [f"{kind}-{r.slug}.html" for r in runs for kind in ("run", "answers")]


def render(index: RunIndex, name: str, runs: list[RunView] | None = None) -> str | None:
    """The page with this file name, or None if there is none; ``runs``: the store already read (an export)."""
    if name in ("", "index.html", "compare.html"):
        runs = index.runs() if runs is None else runs
        return compare_page(runs) if name == "compare.html" else index_page(runs, str(index.output_dir))
    m = re.fullmatch(r"(run|answers)-(.+)\.html", name)
    if m is None:
        return None
    if runs is None:
        named = next((n for n in index.run_names() if slug(n) == m.group(2)), None)
        runs = [] if named is None else [index.run(named)]
    run = next((r for r in runs if r.slug == m.group(2)), None)
    if run is None:
        return None
    return run_page(run, report_body(run)) if m.group(1) == "run" else answers_page(run)


def make_app(output_dir: str | Path) -> Starlette:
    index = RunIndex(output_dir)

    def handle(request: Request) -> HTMLResponse | RedirectResponse:
        # a plain function: Starlette runs it in a worker thread, so reading the store never stalls the server
        name = request.path_params.get("name", "")
        if name == "":
            return RedirectResponse("index.html")
        got = render(index, name)
        if got is None:
            return HTMLResponse(f"<!doctype html><title>not found</title><p>No page {name!r} in this store: "
                                "<a href='index.html'>the runs</a>.</p>", status_code=404)
        return HTMLResponse(got)

    return Starlette(routes=[Route("/", handle), Route("/{name:path}", handle)])


def export(output_dir: str | Path, out: str | Path) -> list[Path]:
    """Every page as a plain file in ``out``."""
    index = RunIndex(output_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = index.runs()
    written = [out / name for name in page_names(runs)]
    for path in written:
        path.write_text(render(index, path.name, runs) or "", encoding="utf-8")
    log(f"wrote {len(written)} pages to {out} (open {out / 'index.html'})")
    return written


def serve(output_dir: str | Path, port: int = 8765, open_browser: bool = False) -> None:
    """Serve until Ctrl-C. The socket is bound here first, so a port in use is one clear error before anything
    is printed, and port 0 takes a free one (the address printed is the real one)."""
    import socket

    import uvicorn

    app = make_app(output_dir)  # checks the store exists before anything listens
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise EmkitError(f"emkit view could not listen on 127.0.0.1:{port} ({exc.strerror}; pass another --port)"
                         ) from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    print(f"emkit view: {url} (Ctrl-C stops it)", flush=True)
    # reading a run's experiment needs every backend's settings class (the plug-ins import torch: seconds); begun
    # now, beside the server, so the first page waits less and the server listens at once
    import threading

    from emkit.core.registry import load_plugins

    threading.Thread(target=load_plugins, name="emkit-plugins", daemon=True).start()
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
