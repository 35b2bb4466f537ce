"""The portal as gunicorn serves it, plus a plain "hello" route: the anchor of bench/lookup.py."""

from portal import create_app

app = create_app()
app.add_url_rule("/hello", "bench_hello", lambda: "hello")
