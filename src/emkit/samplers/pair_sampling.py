"""The ``hf`` sampler's per-pair draw, a transformers ``LogitsProcessor``: a module of its own so that registering
the sampler (every catalog lookup does) imports no torch or transformers."""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


class PairSampling(LogitsProcessor):
    """Temperature and top-p, then each row's next token drawn with the row's own generator; what comes out is 0
    at the drawn token and -inf elsewhere, so greedy search (``do_sample=False``) takes it. A row draws once per
    step, finished or not, so its tokens depend on its seed and prompt alone, not on the rows beside it."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:  # keep the most likely tokens until their mass reaches top_p (the first always)
            p, order = probs.sort(dim=-1, descending=True)
            p = p.masked_fill(p.cumsum(-1) - p >= self.top_p, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, order, p)
        cdf = probs.cumsum(-1)
        u = torch.cat([torch.rand(1, generator=g) for g in self.generators]).to(cdf.device)
        drawn = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1), right=True).clamp_(max=cdf.shape[-1] - 1)
        return torch.full_like(scores, float("-inf")).scatter_(-1, drawn, 0.0)
