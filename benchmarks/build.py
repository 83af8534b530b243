"""`python -m benchmarks.build ENGINE CORPUS INDEX [--incremental]`: one build, run as a child.

Prints one JSON line with what was built, so the parent can time it and watch
its memory from outside.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from benchmarks.engines import BUILDERS


def main(argv: list[str]) -> int:
    engine, corpus, index = argv[0], Path(argv[1]), Path(argv[2])
    incremental = "--incremental" in argv[3:]
    if not incremental and index.exists():
        shutil.rmtree(index)
    if engine == "searchsvc":
        report = BUILDERS[engine](corpus, index, full=not incremental)
        details = {"paragraphs": report.paragraphs, "articles": report.articles,
                   "changed": report.generation is not None}  # fmt: skip
    else:
        details = {"paragraphs": BUILDERS[engine](corpus, index)}
    print(json.dumps(details))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
