"""What an entrypoint of another platform's shape becomes here (validate.py and specialize.py say
it, so one place words it): OpenFaaS's handle(req), OpenWhisk's main(args), Fission's main()."""

_BY_ARITY = {
    0: "Fission's main() becomes handler(event, context), with event.body as the request's body",
    1: "OpenFaaS's handle(req) becomes handle(event, context), with event.text() as req; "
       "OpenWhisk's main(args) becomes main(event, context), with event.json() or event['query'] as args",
}


def hint(arity: int, entry: str = "") -> str:
    """`; <what to write instead>` for an entrypoint `entry` of `arity` positional parameters, or ''."""
    text = _BY_ARITY.get(arity)
    if arity == 0 and entry:
        # A factory that builds the app (Flask's create_app(), FastAPI's get_application()).
        text = f"if it builds your app (an app factory), write entrypoint: {entry}(); {text}"
    return f"; {text}" if text else ""
