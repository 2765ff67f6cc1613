"""Core: the records that flow between stages, the experiment's config and fingerprints, the SQLite store, the
plug-in registry, errors and progress. Everything else imports from here; this package imports nothing above it."""
