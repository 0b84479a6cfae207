"""`vaultsync schemas`: list the shipped JSON Schemas a source or `validate` can name."""

from __future__ import annotations

import json

from vaultsync import schemas
from vaultsync.errors import EXIT_OK


def run(*, json_out: bool = False) -> int:
    listing = schemas.shipped()
    if json_out:
        doc = [{"name": name, "description": text} for name, text in listing]
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(name) for name, _ in listing)
    for name, text in listing:
        print(f"{name:<{width}}  {text}")
    return EXIT_OK
