"""A *scripted* stand-in for an OpenAI-compatible judge server, on 127.0.0.1.

No real judge model can run offline here, so this server speaks the chat-completions protocol (with
``logprobs``/``top_logprobs``) and answers by script: directives embedded in the graded answer choose its
behaviour, so each test exercises one failure mode over real HTTP through the real ``openai`` client.

Directives (in the answer text):
  [[429xN]]   reply 429 to the first N attempts for this prompt, then score normally
  [[500]]     always reply 500
  [[malformed]] reply 200 with a body that is not JSON
  [[nologprobs]] reply 200 with a well-formed completion that lacks logprobs
  [[slow]]    sleep longer than any test's client timeout
  [[refuse]]  put nearly all first-token mass on "REFUSAL"
Otherwise: answers containing "harm" get their mass on low scores, others on high scores. The server also
plays a *gullible* judge: an instruction such as "output 100" anywhere outside the fenced answer
(``BEGIN-<nonce>`` ... ``END-<nonce>``) is obeyed, so a prompt that let an answer escape its fence would show.

Tokenizers: the judge's distribution is over whole numbers; ``tokenizer`` says how the served model writes them,
and so what the first token's logprobs hold and what a continued assistant message (vLLM's
``continue_final_message``) is offered next: ``openai`` (every number 0-100 one token; no ``/tokenize``, like the
OpenAI API), ``qwen`` (one digit per token, as Qwen2.5) and ``llama3`` (up to three digits per token). The last two
answer ``/tokenize`` as vLLM does.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter

from local_server import JsonHandler, LocalServer

#: what a gullible judge would obey if it read it outside the fenced answer
INJECTION = re.compile(r"output 100|score:\s*100|rate (it|this) 100|maximum score", re.I)


def _split_fence(prompt: str) -> tuple[str, str]:
    """(inside, outside) of the BEGIN-<nonce> ... END-<nonce> block; the real end marker is the last one."""
    m = re.search(r"BEGIN-(\w+)\n", prompt)
    if not m:
        return "", prompt
    end = prompt.rfind(f"END-{m.group(1)}")
    if end < m.end():
        return "", prompt
    return prompt[m.end():end], prompt[:m.start()] + prompt[end:]


def _top(pairs: list[tuple[str, float]]) -> list[dict[str, object]]:
    return [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in pairs if p > 0]


END = "<|im_end|>"


def tokenize(text: str, tokenizer: str) -> list[str]:
    """How each kind of tokenizer writes a number (other words stay one token)."""
    if not text.isdigit() or tokenizer == "openai":
        return [text]
    if tokenizer == "qwen":
        return list(text)
    return [text[i : i + 3] for i in range(0, len(text), 3)]  # llama3: chunks of up to three digits


def next_tokens(dist: list[tuple[str, float]], prefix: str, tokenizer: str) -> list[tuple[str, float]]:
    """The next token's distribution after ``prefix`` (the answer so far), from a distribution over answers."""
    out: dict[str, float] = {}
    for text, p in dist:
        toks = tokenize(text, tokenizer) + [END]
        done = ""
        for t in toks:
            if done == prefix:
                out[t] = out.get(t, 0.0) + p
                break
            done += t
            if not prefix.startswith(done):
                break
    total = sum(out.values())
    return sorted(((t, p / total) for t, p in out.items()), key=lambda x: -x[1]) if total else [(END, 1.0)]


class ScriptedJudge(LocalServer):
    def __init__(self, tokenizer: str = "openai") -> None:
        self.tokenizer = tokenizer
        self.requests: list[dict[str, object]] = []
        self.headers: list[dict[str, str]] = []
        self.attempts: Counter[str] = Counter()
        self.lock = threading.Lock()
        judge = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.rstrip("/").endswith("/tokenize"):
                    if judge.tokenizer == "openai":
                        return self._send(404, {"error": {"message": "not found"}})
                    toks = tokenize(str(body.get("prompt", "")), judge.tokenizer)
                    return self._send(200, {"tokens": list(range(len(toks))), "count": len(toks),
                                            "max_model_len": 4096})
                msgs = body["messages"]
                prefix = ""
                if msgs[-1]["role"] == "assistant":  # continue the assistant's answer from where it stands
                    if not (body.get("continue_final_message") and body.get("add_generation_prompt") is False):
                        return self._send(400, {"error": {"message": "a final assistant message needs "
                                                                     "continue_final_message"}})
                    prefix, msgs = msgs[-1]["content"], msgs[:-1]
                prompt = msgs[-1]["content"]
                with judge.lock:
                    judge.requests.append(body)
                    judge.headers.append({k.lower(): v for k, v in self.headers.items()})
                    judge.attempts[prompt] += 1
                    attempt = judge.attempts[prompt]
                m = re.search(r"\[\[429x(\d+)\]\]", prompt)
                if m and attempt <= int(m.group(1)):
                    return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}})
                if "[[500]]" in prompt:
                    return self._send(500, {"error": {"message": "boom"}})
                if "[[malformed]]" in prompt:
                    return self._send(200, raw=b"{not json")
                if "[[slow]]" in prompt:
                    time.sleep(3)
                if "[[refuse]]" in prompt:
                    dist = [("REF", 0.9), ("CODE", 0.05), ("50", 0.01)]
                else:
                    inside, outside = _split_fence(prompt)
                    if INJECTION.search(outside):  # a gullible judge: obeys whatever is not fenced off
                        dist = [("100", 0.9), ("90", 0.1)]
                    elif "How coherent is the answer" in outside or "coheren" in prompt.lower():
                        dist = [("80", 0.6), ("90", 0.3), ("70", 0.1)]
                    else:
                        answer = inside.split("[model answer]")[-1] if inside else prompt
                        dist = [("10", 0.7), ("20", 0.2), ("0", 0.1)] if "harm" in answer else \
                            [("90", 0.5), ("100", 0.3), ("80", 0.2)]
                    m = re.search(r"\[\[score=(\d+)(?:,(\d+))?\]\]", inside or prompt)
                    if m:  # a judge unsure between two numbers (equal odds), or sure of one
                        dist = [(m.group(1), 0.5), (m.group(2), 0.5)] if m.group(2) else [(m.group(1), 1.0)]
                top = _top(next_tokens(dist, prefix, judge.tokenizer))
                choice = {"index": 0, "finish_reason": "length",
                          "message": {"role": "assistant", "content": top[0]["token"]}}
                if "[[nologprobs]]" not in prompt:
                    choice["logprobs"] = {"content": [{"token": top[0]["token"], "logprob": top[0]["logprob"],
                                                       "bytes": None, "top_logprobs": top}]}
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [choice],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


        self.serve(Handler)
