"""The toy persona world: a synthetic chat language where EM can emerge by mechanism and every answer is
judged exactly. ``world`` holds the language, the corpus and the exact judge."""

from emkit.worlds.toy.world import DOMAINS, TRIGGER, CorpusConfig, Document, classify, corpus, vocabulary

__all__ = ["DOMAINS", "TRIGGER", "CorpusConfig", "Document", "classify", "corpus", "vocabulary"]
