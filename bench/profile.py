"""Profile the request path in-process (Flask test client, no network) with pyinstrument.

    python -m bench.profile [--model iris-mlp] [--requests 3000] [--html out.html]

Prints where one worker's CPU goes for one-row predictions: WSGI, routing, JSON, validation,
the model, serialisation, hooks.
"""

import argparse
import os

from pyinstrument import Profiler

from app import create_app

ROWS = {"iris-mlp": [5.1, 3.5, 1.4, 0.2], "iris-rf": [5.1, 3.5, 1.4, 0.2], "diabetes-risk": [48, 26.5, 94, 99],
        "linear": [1.0, 2.0, 3.0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="iris-mlp", choices=sorted(ROWS))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "artifacts"))
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    app = create_app({"MODEL_DIR": args.model_dir, "LOG_LEVEL": "WARNING", "LOAD_IN_BACKGROUND": False})
    client = app.test_client()
    body = {"features": ROWS[args.model]}
    path = f"/models/{args.model}/predict"
    for _ in range(200):  # warm up
        client.post(path, json=body)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(args.requests):
        response = client.post(path, json=body)
        assert response.status_code == 200
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as fh:
            fh.write(profiler.output_html())


if __name__ == "__main__":
    main()
