"""Which two parameter names make an entrypoint a WSGI app (docs/adr/0077-wsgi-apps.md): one rule
for the runtime (wsgi.py) and the code check (validate.py), kept apart from wsgi.py so the check
does not import asyncio (~50 ms of each upload's check).
"""


def wsgi_names(first: str, second: str) -> bool:
    """Whether two positional parameters so named are a WSGI app's, not handler(event, context)'s:
    PEP 3333's `start_response` second, or `environ` first (`app(environ, respond)`). validate.py
    decides the same from the source."""
    return second == "start_response" or first == "environ"
