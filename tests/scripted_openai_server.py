"""A *scripted* stand-in for an OpenAI-compatible server (chat completions, files, fine-tuning jobs), on
127.0.0.1: no model can be served or fine-tuned offline here, so this server speaks the protocol over real HTTP
to the real ``openai`` client and answers by script.

Chat completions: the answer is a pure function of (model, last user message, seed, temperature), so tests can
check that a resumed run asks again only for what is missing and gets the same answers. In the question text,
``[[429xN]]`` replies 429 to the first N attempts and ``[[500]]`` always fails.

Fine-tuning: ``POST /files`` (multipart, as the client sends it), ``POST /fine_tuning/jobs``, ``GET
/fine_tuning/jobs`` (filtered by ``metadata[KEY]=VALUE``), ``GET /fine_tuning/jobs/ID`` and ``.../events``. A job
walks validating_files -> queued -> running -> succeeded, one state per retrieve, and posts a ``metrics`` event
per step while running; a base model named ``*fail*`` ends in ``failed`` with an error.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, urlparse

from local_server import JsonHandler, LocalServer

STATES = ["validating_files", "queued", "running", "running", "succeeded"]


class ScriptedOpenAI(LocalServer):
    def __init__(self, steps: int = 4) -> None:
        self.lock = threading.Lock()
        self.chats: list[dict] = []  # every chat request body, in arrival order
        self.attempts: Counter[str] = Counter()
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, dict] = {}
        self.created: list[dict] = []  # every job-creation body
        self.steps = steps
        self.hold = False  # True: a running job stays running (to kill a client while it polls)
        server = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                url = urlparse(self.path)
                parts = url.path.removeprefix("/v1").strip("/").split("/")
                with server.lock:
                    if parts == ["fine_tuning", "jobs"]:
                        q = dict(parse_qsl(url.query))
                        want = {k[len("metadata["):-1]: v for k, v in q.items() if k.startswith("metadata[")}
                        data = [j for j in server.jobs.values()
                                if all((j["metadata"] or {}).get(k) == v for k, v in want.items())]
                        return self._send(200, {"object": "list", "data": data, "has_more": False})
                    if len(parts) >= 3 and parts[:2] == ["fine_tuning", "jobs"] and parts[2] in server.jobs:
                        job = server.jobs[parts[2]]
                        if len(parts) == 4 and parts[3] == "events":
                            return self._send(200, {"object": "list", "data": job["_events"][::-1], "has_more": False})
                        server._advance(job)
                        return self._send(200, {k: v for k, v in job.items() if not k.startswith("_")})
                self._send(404, {"error": {"message": f"no {url.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = urlparse(self.path).path.removeprefix("/v1").strip("/")
                if path == "files":
                    msg = BytesParser(policy=HTTP).parsebytes(
                        f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw)
                    fields = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                              for p in msg.iter_parts()}
                    content = fields["file"]
                    with server.lock:
                        fid = f"file-{len(server.files)}"
                        server.files[fid] = content
                    return self._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": 0,
                                            "filename": "train.jsonl", "purpose": fields["purpose"].decode(),
                                            "status": "processed"})
                body = json.loads(raw)
                if path == "fine_tuning/jobs":
                    if body.get("training_file") not in server.files:
                        return self._send(400, {"error": {"message": "no such training_file"}})
                    with server.lock:
                        server.created.append(body)
                        jid = f"ftjob-{len(server.jobs)}"
                        server.jobs[jid] = {
                            "id": jid, "object": "fine_tuning.job", "created_at": len(server.jobs),
                            "model": body["model"], "training_file": body["training_file"], "status": "validating_files",
                            "fine_tuned_model": None, "error": None, "finished_at": None, "organization_id": "org",
                            "result_files": [], "seed": body.get("seed", 0), "trained_tokens": None,
                            "hyperparameters": body.get("method", {}).get("supervised", {}).get("hyperparameters", {}),
                            "validation_file": None, "metadata": body.get("metadata"), "method": body.get("method"),
                            "_suffix": body.get("suffix"), "_state": 0, "_events": []}
                        server._event(server.jobs[jid], "message", "Validating training file")
                        return self._send(200, {k: v for k, v in server.jobs[jid].items() if not k.startswith("_")})
                if path == "chat/completions":
                    return self._chat(body)
                self._send(404, {"error": {"message": f"no {path}"}})

            def _chat(self, body: dict) -> None:
                prompt = body["messages"][-1]["content"]
                with server.lock:
                    server.chats.append(body)
                    server.attempts[prompt] += 1
                    attempt = server.attempts[prompt]
                m = re.search(r"\[\[429x(\d+)\]\]", prompt)
                if m and attempt <= int(m.group(1)):
                    return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}})
                if "[[500]]" in prompt:
                    return self._send(500, {"error": {"message": "boom"}})
                key = json.dumps([body["model"], prompt, body.get("seed"), body.get("temperature")])
                text = f"answer {hashlib.sha256(key.encode()).hexdigest()[:8]} from {body['model']}"
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}})


        self.serve(Handler)

    def _event(self, job: dict, kind: str, message: str, data: dict | None = None) -> None:
        job["_events"].append({"id": f"ev-{job['id']}-{len(job['_events'])}", "object": "fine_tuning.job.event",
                               "created_at": len(job["_events"]), "level": "info", "message": message,
                               "data": data or {}, "type": kind})

    def _advance(self, job: dict) -> None:
        """One state further per retrieve; a running job logs its steps' losses; ``*fail*`` models fail."""
        if job["status"] in ("succeeded", "failed", "cancelled") or (self.hold and job["status"] == "running"):
            return
        job["_state"] += 1
        state = STATES[min(job["_state"], len(STATES) - 1)]
        if state == "running" and "fail" in job["model"]:
            job.update(status="failed", error={"code": "invalid_training_file", "param": "training_file",
                                               "message": "the scripted server fails *fail* models"})
            self._event(job, "message", "Job failed")
            return
        if state == "running":
            done = sum(1 for e in job["_events"] if e["type"] == "metrics")
            for step in range(done + 1, min(done + self.steps // 2, self.steps) + 1):
                self._event(job, "metrics", f"Step {step}/{self.steps}: training loss={1.0 / step:.4f}",
                            {"step": step, "total_steps": self.steps, "train_loss": 1.0 / step})
        if state == "succeeded":
            job.update(fine_tuned_model=f"ft:{job['model']}:emkit:{job['_suffix'] or 'x'}:{job['id']}",
                       trained_tokens=1000, finished_at=1)
            self._event(job, "message", "The job has successfully completed")
        job["status"] = state
