"""Admin tool: rebuild the dispatch directory from every helper profile and device (repair, bulk
imports, and once after deploying the directory by category: until then a category has no
shard count and its rounds find nobody).

Runs against the local emulators (the stack's environment); with real credentials and no
emulator variables it acts on the project in GOOGLE_CLOUD_PROJECT.
"""

from __future__ import annotations

import argparse
import sys

from homepro import bootstrap


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    ctx = bootstrap.context()
    helpers = ctx.dispatch.rebuild_directory(ctx.clock.now())
    print(f"dispatch directory rebuilt: {helpers} available helpers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
