"""``emkit view``: the pages of :mod:`emkit.view.pages` served from a store on 127.0.0.1 (Starlette on uvicorn:
each request reads the store afresh, so a page shows a run still in progress as it stands), or written to a
folder as plain files (``--export``) that open without a server. Both name pages alike (index.html,
compare.html, run-SLUG.html, answers-SLUG.html, label-SLUG.html), so every link works in both.

The server writes one thing: a person's label of an answer (``POST /labels`` from the labelling page). So that no
other site can read or write through it, it answers only requests addressed to its loopback names (a page
elsewhere that rebinds its own name to 127.0.0.1 is refused), and takes a write only from its own origin carrying
the token it handed its pages at start (as Jupyter does)."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import LABELS, HumanLabel
from emkit.view.data import RunIndex, RunView, interp_answers, label_sample, slug
from emkit.view.pages import answers_page, compare_page, index_page, label_page, run_page

#: the names the server answers to: those of the loopback address it binds (any other Host header is refused)
LOOPBACK = ("127.0.0.1", "localhost")
#: answers drawn for the labelling page (``?n=`` asks for another number)
LABEL_SAMPLE = 100


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
    return ["index.html", "compare.html"] + [f"{kind}-{r.slug}.html" for r in runs
                                             for kind in ("run", "answers", "label")]


def render(index: RunIndex, name: str, runs: list[RunView] | None = None, token: str | None = None,
           n: int = LABEL_SAMPLE) -> str | None:
    """The page with this file name, or None if there is none; ``runs``: the store already read (an export).
    ``token``: the server's, which a labelling page needs to write (an exported one has none, and says so)."""
    if name in ("", "index.html", "compare.html"):
        runs = index.runs() if runs is None else runs
        return compare_page(runs) if name == "compare.html" else index_page(runs, str(index.output_dir))
    m = re.fullmatch(r"(run|answers|label)-(.+)\.html", name)
    if m is None:
        return None
    if runs is None:
        named = next((n for n in index.run_names() if slug(n) == m.group(2)), None)
        runs = [] if named is None else [index.run(named)]
    run = next((r for r in runs if r.slug == m.group(2)), None)
    if run is None:
        return None
    if m.group(1) == "label":
        if token is None:
            return label_page(run, [], [], None)
        sample = label_sample(run, n)
        with index.open() as st:
            labels = st.labels(keys=[a.answer.judge_key for a in sample])
        return label_page(run, sample, labels, token)
    return run_page(run, report_body(run)) if m.group(1) == "run" else answers_page(run)


def _refusal(request: Request, token: str) -> str | None:
    """Why a write is refused, or None: it must come from the server's own origin (the browser's Origin header,
    which a page cannot forge) and carry the server's token (which only its own pages hold)."""
    own = f"http://{request.headers.get('host', '')}"
    if request.headers.get("origin") != own:
        return f"a write is taken only from {own} (this came from {request.headers.get('origin') or 'no origin'})"
    if not secrets.compare_digest(request.headers.get("x-emkit-token", "").encode(), token.encode()):
        return "a write needs this server's token (reload the page: the server may have restarted)"
    return None


def save_label(index: RunIndex, body: Any) -> Response:
    """Store one label posted by the labelling page; the answer's texts are read from the store by its key,
    never taken from the request."""
    if not isinstance(body, dict):
        return PlainTextResponse("expected a JSON object", status_code=400)
    fields = {k: body.get(k) for k in ("run", "key", "label", "labeller")}
    bad = [k for k, v in fields.items() if not isinstance(v, str) or not v.strip()]
    if bad or not isinstance(body.get("note", ""), str):
        return PlainTextResponse(f"missing or not text: {', '.join(bad) or 'note'}", status_code=400)
    if fields["label"] not in LABELS:
        return PlainTextResponse(f"label must be one of {', '.join(LABELS)}", status_code=400)
    with index.open() as st:
        answer = st.answer_by_key(fields["run"], fields["key"])
        if answer is None and fields["run"] in st.sampled_runs():  # a checkpoint's or intervention's answer: a file
            answer = next((a for got in interp_answers(index.output_dir / fields["run"]).values() for a in got
                           if a.judge_key == fields["key"]), None)
        if answer is None:
            return PlainTextResponse(f"no answer {fields['key']} in run {fields['run']}", status_code=404)
        h = HumanLabel(fields["key"], fields["labeller"].strip()[:80], fields["label"], answer.question,
                       answer.system, answer.text, fields["run"], answer.arm, body.get("note", "")[:2000],
                       time.time())
        st.put_label(h)
    return JSONResponse({"saved": True, "at": h.at})


def make_app(output_dir: str | Path, token: str | None = None) -> Starlette:
    """The view's web app; ``token``: what a write must carry (a fresh random one by default, per server)."""
    index = RunIndex(output_dir)
    token = token or secrets.token_urlsafe(32)

    def handle(request: Request) -> HTMLResponse | RedirectResponse:
        # a plain function: Starlette runs it in a worker thread, so reading the store never stalls the server
        name = request.path_params.get("name", "")
        if name == "":
            return RedirectResponse("index.html")
        try:
            n = max(1, min(int(request.query_params.get("n", LABEL_SAMPLE)), 5000))
        except ValueError:
            n = LABEL_SAMPLE
        got = render(index, name, token=token, n=n)
        if got is None:
            return HTMLResponse(f"<!doctype html><title>not found</title><p>No page {name!r} in this store: "
                                "<a href='index.html'>the runs</a>.</p>", status_code=404)
        return HTMLResponse(got)

    async def labels(request: Request) -> Response:
        why = _refusal(request, token)
        if why is not None:
            return PlainTextResponse(why, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            return PlainTextResponse("expected a JSON object", status_code=400)
        return await run_in_threadpool(save_label, index, body)

    return Starlette(routes=[Route("/labels", labels, methods=["POST"]), Route("/", handle),
                             Route("/{name:path}", handle)],
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK)),
                                 Middleware(NoFraming)])


class NoFraming:
    """No page of the view may be framed by another site (which could then lead a person's clicks and keys into
    the labelling page, its writes coming from the view's own origin with its token): every response says so."""

    HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, sending if scope["type"] == "http" else send)


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
