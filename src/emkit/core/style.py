"""The style every emkit page shares (the report and the view): here, below both, so the view's pages import
no model code through the report package."""

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em} pre{white-space:pre-wrap}
.ans{border:1px solid #ddd;border-radius:6px;padding:.5em;margin:.5em 0;font-size:.9em}
.mis{border-color:#d33} small{color:#666}
.judge-line{background:#fdecea;border-left:6px solid #d33;padding:.6em 1em;font-size:1.05em}
"""
