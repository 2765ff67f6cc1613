from emkit.cli import app

app()
