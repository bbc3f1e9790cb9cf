"""``python -m bot.language``: detect the language of each line on stdin.

Reads UTF-8 lines and writes, in order, one JSON object per line:
``{"language": "<code or null>", "confidence": <0..1>}``. This interface is
stable: the evaluation scripts depend on it.
"""

from __future__ import annotations

import json
import sys

from bot.language import default_detector


def main() -> int:
    detector = default_detector()
    out = sys.stdout
    with open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False) as lines:
        for line in lines:
            result = detector.detect(line.rstrip("\r\n"))
            out.write(json.dumps({"language": result.language, "confidence": result.confidence}))
            out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
