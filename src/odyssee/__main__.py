from odyssee.cli.main import app

app(prog_name="odyssee")
