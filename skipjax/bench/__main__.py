"""Entry point of `python -m skipjax.bench NAME [--json PATH] [--quick]`."""

import sys

from skipjax.bench import harness

if __name__ == "__main__":
  sys.exit(harness.main())
